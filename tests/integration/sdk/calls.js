// Drives `imagegate serve` with the official tencentcloud-sdk-nodejs-cvm, unmodified.
//   node calls.js PORT
// Prints one JSON line per case: {case, ok, code, ...}; api_sdk.sh asserts on them.
const http = require("http");
const cvm = require("tencentcloud-sdk-nodejs-cvm").cvm.v20170312;

const port = process.argv[2];
function client(secretId, secretKey) {
  return new cvm.Client({
    credential: { secretId, secretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { protocol: "http://", endpoint: `127.0.0.1:${port}`, reqTimeout: 10, agent: new http.Agent() } },
  });
}
async function run(name, fn) {
  try {
    const r = await fn();
    console.log(JSON.stringify({ case: name, ok: true, response: r }));
  } catch (e) {
    console.log(JSON.stringify({ case: name, ok: false, code: e.code, message: e.message, requestId: e.requestId, traceId: e.traceId }));
  }
}

(async () => {
  const good = client("AKIDtest0000000000000000000000000001", "secret-one");
  await run("os-list", () => good.DescribeImportImageOs({}));
  await run("wrong-key", () => client("AKIDtest0000000000000000000000000001", "not-the-key").DescribeImportImageOs({}));
  await run("unknown-id", () => client("AKIDnobody000000000000000000000000000", "x").DescribeImportImageOs({}));
  await run("unknown-action", () => good.request("NoSuchAction", {}));
  // A clock 10 minutes slow: the SDK signs with an old timestamp.
  const RealDate = Date;
  global.Date = class extends RealDate {
    constructor(...a) { if (a.length) super(...a); else super(RealDate.now() - 600000); }
    static now() { return RealDate.now() - 600000; }
  };
  await run("stale", () => good.DescribeImportImageOs({}));
  global.Date = RealDate;
})();

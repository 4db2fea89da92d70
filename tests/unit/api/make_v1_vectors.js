// Makes v1_vectors.json: requests signed by the official Node SDK's own legacy signer
// (profile.signMethod "HmacSHA1" / "HmacSHA256", tencentcloud-sdk-nodejs-common's
// formatRequestData and Sign.sign), captured on the wire as GET queries and form POST bodies.
//
//   tests/integration/sdk/install.sh DIR && cp tests/unit/api/make_v1_vectors.js DIR/ &&
//   (cd DIR && node make_v1_vectors.js) > tests/unit/api/v1_vectors.json
//
// The clock and Math.random are fixed so that the output is reproducible; the server listens on
// the fixed port 18091 because the SDK signs its endpoint, port included.
const http = require("http");
const cvm = require("tencentcloud-sdk-nodejs-cvm").cvm.v20170312;

const kPort = 18091;
const kNow = 1700000000;  // 2023-11-14T22:13:20Z
Date.now = () => kNow * 1000;
Math.random = () => 0.5;  // Nonce = round(0.5 * 65535) = 32768

const seen = [];
const server = http.createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const q = req.url.indexOf("?");
    seen.push({
      method: req.method,
      path: q < 0 ? req.url : req.url.slice(0, q),
      query: q < 0 ? "" : req.url.slice(q + 1),
      contentType: req.headers["content-type"] || "",
      host: req.headers.host,
      body,
    });
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ Response: { RequestId: "00000000-0000-4000-8000-000000000000" } }));
  });
});

const cases = [
  {
    name: "GET HmacSHA256 DescribeImages with filters",
    signMethod: "HmacSHA256", reqMethod: "GET", action: "DescribeImages",
    params: { Filters: [{ Name: "image-type", Values: ["PRIVATE_IMAGE"] }], Offset: 0, Limit: 10 },
  },
  {
    name: "POST HmacSHA1 ImportImage, a Chinese name, reserved characters, a boolean and a list of objects",
    signMethod: "HmacSHA1", reqMethod: "POST", action: "ImportImage",
    params: {
      Architecture: "x86_64", OsType: "Debian", OsVersion: "12", ImageName: "镜像 a+b=c&d%e",
      ImageUrl: "http://127.0.0.1:1/bucket/debian12.qcow2?x=1&y=2", DryRun: true,
      TagSpecification: [{ ResourceType: "image", Tags: [{ Key: "team", Value: "web ops" }] }],
    },
  },
  {
    name: "POST HmacSHA256 DescribeImportImageOs, no parameters, X-TC-Language as Language",
    signMethod: "HmacSHA256", reqMethod: "POST", action: "DescribeImportImageOs", params: {}, language: "en-US",
  },
  {
    name: "GET HmacSHA1 ModifyImageSharePermission, endpoint with a path",
    signMethod: "HmacSHA1", reqMethod: "GET", action: "ModifyImageSharePermission", path: "/cvm-api",
    params: { ImageId: "img-abcdefgh", AccountIds: ["1250000002", "1250000003"], Permission: "SHARE" },
  },
];

(async () => {
  await new Promise((r) => server.listen(kPort, "127.0.0.1", r));
  const out = [];
  for (const c of cases) {
    const client = new cvm.Client({
      credential: { secretId: "AKIDdummy0000000000000000000000000000", secretKey: "dummy-secret-key" },
      region: "ap-guangzhou",
      profile: {
        signMethod: c.signMethod,
        language: c.language,
        httpProfile: {
          protocol: "http://", endpoint: `127.0.0.1:${kPort}${c.path || ""}`, reqMethod: c.reqMethod,
          agent: new http.Agent(),
        },
      },
    });
    // The string the SDK signs, from its own code, for the record.
    const flat = client.mergeData(JSON.parse(JSON.stringify(c.params)));
    const signed = await client.formatRequestData(c.action, flat);
    const signString = client.formatSignString(Object.fromEntries(Object.entries(signed).filter(([k]) => k !== "Signature")));
    await client.request(c.action, c.params);
    out.push({
      name: c.name, secretId: "AKIDdummy0000000000000000000000000000", secretKey: "dummy-secret-key",
      timestamp: kNow, action: c.action, params: c.params, signString, ...seen[seen.length - 1],
    });
  }
  server.close();
  console.log(JSON.stringify(out, null, 2));
})();

// The import service end to end through the official SDK (tencentcloud-sdk-nodejs-cvm, unmodified;
// our own message-center actions go through its generic request()).
//   node service.js imports PORT SPEC.json   one JSON line per image and per message
//   node service.js import-one PORT NAME URL  prints the ImageId
//   node service.js wait PORT ID...           waits until the images have ended; one line each
//   node service.js family PORT ID            ImageFamily / ImageDeprecated / DescribeImageFromFamily
// SPEC.json: {"webhook_port": N, "imports": [{"account": 1|2, "name", "url", "disks": [url...],
//                                             "os": {"OsType", "OsVersion"} (else Debian 12)}]}
// In `imports` mode account 1 subscribes an e-mail address and a webhook served here; every
// webhook request's signature is checked against the subscription's secret.
const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const cvm = require("tencentcloud-sdk-nodejs-cvm").cvm.v20170312;

const [mode, port, ...rest] = process.argv.slice(2);
const accounts = {
  1: { secretId: "AKIDtest0000000000000000000000000001", secretKey: "secret-one", region: "ap-guangzhou" },
  2: { secretId: "AKIDtest0000000000000000000000000002", secretKey: "secret-two", region: "ap-singapore" },
};
function client(n) {
  const a = accounts[n];
  return new cvm.Client({
    credential: { secretId: a.secretId, secretKey: a.secretKey },
    region: a.region,
    profile: { httpProfile: { protocol: "http://", endpoint: `127.0.0.1:${port}`, reqTimeout: 60, agent: new http.Agent() } },
  });
}
const base = { Architecture: "x86_64", OsType: "Debian", OsVersion: "12" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function wait(c, ids, seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const r = await c.DescribeImages({ ImageIds: ids });
    if (r.ImageSet.every((i) => i.ImageState !== "IMPORTING") || Date.now() > deadline) return r.ImageSet;
    await sleep(500);
  }
}

function line(o) { console.log(JSON.stringify(o)); }
function image(i, name, account) {
  return { kind: "image", account, name, id: i.ImageId, state: i.ImageState, code: i.ImportErrorCode,
    message: i.ImportErrorMessage, size: i.ImageSize, cloudinit: i.IsSupportCloudinit, snapshots: i.SnapshotSet,
    sha256: i.ImportSourceSha256 };
}

async function imports(spec) {
  const hooks = [];
  let secret = "";
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const ts = req.headers["x-imagegate-timestamp"];
      const expected = "sha256=" + crypto.createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex");
      const verified = req.headers["x-imagegate-signature"] === expected;
      hooks.push({ verified, message: JSON.parse(body) });
      res.writeHead(verified ? 204 : 401);
      res.end();
    });
  });
  await new Promise((r) => server.listen(spec.webhook_port, "127.0.0.1", r));
  const one = client(1);
  line({ kind: "subscribe", ...(await one.request("CreateMessageSubscription", { Channel: "EMAIL", Endpoint: "ops@example.com" })) });
  const hook = await one.request("CreateMessageSubscription", { Channel: "WEBHOOK", Endpoint: `http://127.0.0.1:${spec.webhook_port}/hook` });
  secret = hook.Secret;
  line({ kind: "subscribe", ...hook });
  const ids = { 1: {}, 2: {} };
  for (const w of spec.imports) {
    const req = { ...base, ...(w.os || {}), ImageName: w.name, ImageUrl: w.url };
    if (w.disks) req.ImportImageDataDiskList = w.disks.map((u) => ({ ImageUrl: u }));
    ids[w.account][(await client(w.account).ImportImage(req)).ImageId] = w.name;
  }
  for (const n of [1, 2]) {
    const names = ids[n];
    if (!Object.keys(names).length) continue;
    for (const i of await wait(client(n), Object.keys(names), 900)) line(image(i, names[i.ImageId], n));
  }
  const expected = Object.keys(ids[1]).length;
  const deadline = Date.now() + 60000;
  while (hooks.length < expected && Date.now() < deadline) await sleep(200);
  for (const h of hooks) line({ kind: "webhook", ...h });
  for (const n of [1, 2]) {
    const m = await client(n).request("DescribeMessages", { Limit: 100 });
    for (const msg of m.MessageSet) line({ kind: "message", account: n, ...msg });
    line({ kind: "inbox", account: n, total: m.TotalCount, unread: m.UnreadCount });
  }
  server.close();
}

(async () => {
  if (mode === "imports") {
    await imports(JSON.parse(fs.readFileSync(rest[0], "utf8")));
  } else if (mode === "import-one") {
    console.log((await client(1).ImportImage({ ...base, ImageName: rest[0], ImageUrl: rest[1] })).ImageId);
  } else if (mode === "family") {
    // ImageFamily and ImageDeprecated through ModifyImageAttribute, read back by DescribeImages
    // and chosen (or not) by DescribeImageFromFamily.
    const c = client(1);
    const id = rest[0];
    await c.ModifyImageAttribute({ ImageId: id, ImageFamily: "debian-web" });
    const chosen = (await c.DescribeImageFromFamily({ ImageFamily: "debian-web" })).Image;
    await c.ModifyImageAttribute({ ImageId: id, ImageDeprecated: true });
    const after = (await c.DescribeImageFromFamily({ ImageFamily: "debian-web" })).Image;
    const img = (await c.DescribeImages({ ImageIds: [id] })).ImageSet[0];
    await c.ModifyImageAttribute({ ImageId: id, ImageDeprecated: false });
    line({ kind: "family", chosen: chosen ? chosen.ImageId : null, deprecated_chosen: after ? after.ImageId : null,
           family: img.ImageFamily, deprecated: img.ImageDeprecated });
  } else if (mode === "wait") {
    for (const i of await wait(client(1), rest, 900)) line(image(i, "", 1));
  }
})().catch((e) => { line({ kind: "error", code: e.code, message: e.message }); process.exit(1); });

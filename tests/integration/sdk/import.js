// ImportImage through the official SDK, then DescribeImages until every import has ended.
//   node import.js PORT STORE_URL_BASE OTHER_HOST_URL [debian-image-name]
// Prints one JSON line per image: {name, state, code, message, size, cloudinit}.
const http = require("http");
const cvm = require("tencentcloud-sdk-nodejs-cvm").cvm.v20170312;
const [port, store, elsewhere, debian] = process.argv.slice(2);
const c = new cvm.Client({
  credential: { secretId: "AKIDtest0000000000000000000000000001", secretKey: "secret-one" },
  region: "ap-guangzhou",
  profile: { httpProfile: { protocol: "http://", endpoint: `127.0.0.1:${port}`, reqTimeout: 30, agent: new http.Agent() } },
});
const base = { Architecture: "x86_64", OsType: "Debian", OsVersion: "12" };
const wanted = [
  { ImageName: "data-disk", ImageUrl: `${store}/data-disk.raw` },
  { ImageName: "deleted", ImageUrl: `${store}/no-such-object.qcow2` },
  { ImageName: "not-storage", ImageUrl: `${elsewhere}/debian12.qcow2` },
];
if (debian) wanted.push({ ImageName: "debian12", ImageUrl: `${store}/${debian}` });
(async () => {
  const ids = {};
  for (const w of wanted) ids[(await c.ImportImage({ ...base, ...w })).ImageId] = w.ImageName;
  const deadline = Date.now() + 300000;
  for (;;) {
    const r = await c.DescribeImages({ ImageIds: Object.keys(ids) });
    if (r.ImageSet.every((i) => i.ImageState !== "IMPORTING") || Date.now() > deadline) {
      for (const i of r.ImageSet) {
        console.log(JSON.stringify({ name: ids[i.ImageId], id: i.ImageId, state: i.ImageState, code: i.ImportErrorCode,
          message: i.ImportErrorMessage, size: i.ImageSize, cloudinit: i.IsSupportCloudinit }));
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
})().catch((e) => { console.log(JSON.stringify({ error: e.code, message: e.message })); process.exit(1); });

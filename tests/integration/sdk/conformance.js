// Conformance against the official SDK's own models (issue 13): reads the installed
// tencentcloud-sdk-nodejs-cvm's cvm_models.d.ts and, for every action the service implements,
//   - sends every request field the model declares, one at a time beside a valid base request,
//     with a value of the model's type: each must be accepted, or refused with a code and a reason
//     listed in REFUSED below (never UnknownParameter, never a type error);
//   - checks every field of the action's response model is present in a successful reply with the
//     model's JSON type, recursively (null only where the model says the field may be null).
//   node conformance.js PORT
// Prints one line per action and exits 1 on the first list of differences.
const fs = require("fs");
const http = require("http");
const path = require("path");
const cvm = require("tencentcloud-sdk-nodejs-cvm").cvm.v20170312;

const port = process.argv[2];
const modelsPath = path.join(path.dirname(require.resolve("tencentcloud-sdk-nodejs-cvm/package.json")),
  "tencentcloud/services/cvm/v20170312/cvm_models.d.ts");

// interface name -> { field -> { type, optional, nullable } }; `export type X = null` -> {}.
function parseModels(text) {
  const models = {};
  let current = null;
  let comment = "";
  for (const line of text.split("\n")) {
    let m;
    if ((m = line.match(/^export type (\w+) = null;/))) {
      models[m[1]] = {};
    } else if ((m = line.match(/^export interface (\w+) \{/))) {
      current = models[m[1]] = {};
      comment = "";
    } else if (current && line.startsWith("}")) {
      current = null;
    } else if (current && line.includes("/**")) {
      comment = line;
    } else if (current && (m = line.match(/^ {4}(\w+)(\?)?: (.+);$/))) {
      current[m[1]] = { type: m[3].trim(), optional: m[2] === "?", nullable: comment.includes("null") };
      comment = "";
    } else if (current) {
      comment += line;
    }
  }
  return models;
}
const models = parseModels(fs.readFileSync(modelsPath, "utf8"));

function client(secretId, secretKey) {
  return new cvm.Client({
    credential: { secretId, secretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { protocol: "http://", endpoint: `127.0.0.1:${port}`, reqTimeout: 30, agent: new http.Agent() } },
  });
}
const sdk = client("AKIDtest0000000000000000000000000001", "secret-one");

// A value of the model's type; fields whose values the API constrains get a valid one.
const VALUES = {
  Architecture: "x86_64", OsType: "Debian", OsVersion: "12", ImageUrl: "http://127.0.0.1:1/bucket/disk.qcow2",
  LicenseType: "TencentCloud", BootMode: "Legacy BIOS", ImageFamily: "conformance-family", ResourceType: "image",
  Name: "image-name", InstanceType: "S5.MEDIUM2", Permission: "SHARE", AccountIds: "1250000002",
};
function sample(type, field) {
  if (VALUES[field] !== undefined && type === "string") return VALUES[field];
  if (type === "string") return "conformance";
  if (type === "number") return 1;
  if (type === "boolean") return false;
  const array = type.match(/^Array<(.+)>$/);
  if (array) return [sample(array[1], field)];
  if (models[type]) {
    const o = {};
    for (const [name, f] of Object.entries(models[type])) o[name] = sample(f.type, name);
    return o;
  }
  throw new Error(`no sample for type ${type} (${field})`);
}

// The JSON type differences of `value` against the model's `type`, as "path: why" lines.
function typeErrors(value, type, where, nullable) {
  if (value === null) return nullable ? [] : [`${where}: null, the model does not allow it`];
  if (value === undefined) return [`${where}: missing`];
  const array = type.match(/^Array<(.+)>$/);
  if (array) {
    if (!Array.isArray(value)) return [`${where}: ${typeof value}, the model says ${type}`];
    return value.flatMap((v, i) => typeErrors(v, array[1], `${where}[${i}]`, false));
  }
  if (["string", "number", "boolean"].includes(type)) {
    return typeof value === type ? [] : [`${where}: ${typeof value} ${JSON.stringify(value)}, the model says ${type}`];
  }
  if (!models[type]) return [`${where}: the model's type ${type} is unknown to this test`];
  if (typeof value !== "object" || Array.isArray(value)) return [`${where}: not an object (${type})`];
  return Object.entries(models[type]).flatMap(([name, f]) => typeErrors(value[name], f.type, `${where}.${name}`, f.nullable));
}

// Request fields refused on purpose, each with its code and the documented reason (docs/api.md).
const REFUSED = {
  "DescribeImages.InstanceType": null,  // accepted: it narrows nothing here (no instance types)
};

let failures = 0;
function report(action, problems) {
  if (problems.length) {
    failures++;
    console.log(`conformance: ${action}: FAIL\n  ${problems.join("\n  ")}`);
  }
}

async function call(action, params) {
  try {
    return { ok: true, response: await sdk.request(action, params) };
  } catch (e) {
    return { ok: false, code: e.code || `HTTP ${e.httpCode}`, message: e.message };
  }
}

// One action: its base request must succeed; then each declared field beside it.
async function conform(action, base, { okCodes = [], reply = null } = {}) {
  const problems = [];
  const request = models[`${action}Request`];
  const response = models[`${action}Response`];
  if (!request || !response) return report(action, [`the SDK's models have no ${action}Request/Response`]);
  const first = await call(action, base);
  if (!first.ok && !okCodes.includes(first.code)) problems.push(`base request: ${first.code}: ${first.message}`);
  // The response checked: the base request's, or that of a call made before (`reply`).
  const checked = reply || (first.ok ? first.response : null);
  if (checked) {
    for (const [name, f] of Object.entries(response)) {
      problems.push(...typeErrors(checked[name], f.type, name, f.nullable));
    }
  }
  let fields = 0;
  for (const [name, f] of Object.entries(request)) {
    if (name in base) continue;
    fields++;
    const r = await call(action, { ...base, [name]: sample(f.type, name) });
    if (r.ok || okCodes.includes(r.code)) continue;
    const refused = REFUSED[`${action}.${name}`];
    if (refused && refused.code === r.code) continue;
    problems.push(`request field ${name} (${f.type}): ${r.code}: ${r.message}`);
  }
  report(action, problems);
  if (!problems.length) {
    const base = first.ok ? "" : ` (the base request refused as documented: ${first.code})`;
    console.log(`conformance: ${action}: ${Object.keys(request).length} request fields accepted${base}; ` +
      (checked ? `${Object.keys(response).length} response fields present and typed` : "no response to check"));
  }
}

// The checker itself: a reply missing a field, or with a wrong type, must be caught.
function selfTest() {
  const missing = typeErrors({ ImageId: "img-1" }, "Image", "Image", false);
  const wrong = typeErrors({ TotalCount: "3", ImageSet: [] }, "DescribeImagesResponse", "r", false);
  if (!missing.some((e) => e.includes("ImageState: missing")) || !wrong.some((e) => e.includes("TotalCount: string"))) {
    console.log(`conformance: the checker misses differences: ${JSON.stringify({ missing, wrong })}`);
    process.exit(1);
  }
}

(async () => {
  selfTest();
  const suffix = Date.now().toString(36);
  // An image of this account's own, IMPORTING (the server runs no workers), to describe and modify.
  const created = await call("ImportImage", {
    Architecture: "x86_64", OsType: "Debian", OsVersion: "12", ImageUrl: "http://127.0.0.1:1/bucket/disk.qcow2",
    ImageName: `conformance-${suffix}`,
  });
  if (!created.ok) {
    console.log(`conformance: ImportImage to make a fixture: ${created.code}: ${created.message}`);
    process.exit(1);
  }
  const id = created.response.ImageId;
  VALUES.ImageIds = VALUES.ImageId = id;
  await conform("DescribeImportImageOs", {});
  await conform("ImportImage", {
    Architecture: "x86_64", OsType: "Debian", OsVersion: "12", ImageUrl: "http://127.0.0.1:1/bucket/disk.qcow2",
    ImageName: `conformance-dry-${suffix}`, DryRun: true,
  }, { okCodes: ["DryRunOperation"], reply: created.response });
  await conform("DescribeImages", {});
  await conform("DescribeImageQuota", {});
  await conform("ModifyImageAttribute", { ImageId: id });
  await conform("DescribeImageFromFamily", { ImageFamily: "conformance-family" });
  await conform("DescribeImageSharePermission", { ImageId: id });
  // Only a NORMAL image is shared: the IMPORTING one is refused as documented, after its fields.
  await conform("ModifyImageSharePermission", { ImageId: id, AccountIds: ["1250000002"], Permission: "SHARE" },
    { okCodes: ["InvalidParameterValue.InvalidImageState"] });
  // Without workers the image stays IMPORTING, which DeleteImages refuses as documented; the
  // fields are still parsed and typed before that state is looked at.
  await conform("DeleteImages", { ImageIds: [id], DryRun: true },
    { okCodes: ["DryRunOperation", "InvalidImageId.IncorrectState"] });
  process.exit(failures ? 1 : 0);
})();

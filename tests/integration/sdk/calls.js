// Drives `imagegate serve` with the official tencentcloud-sdk-nodejs-cvm, unmodified.
//   node calls.js PORT [main|share]
// Prints one JSON line per case: {case, ok, code, ...}; api_sdk.sh asserts on them. The "share"
// phase runs once api_sdk.sh has made two of the images NORMAL.
const http = require("http");
const cvm = require("tencentcloud-sdk-nodejs-cvm").cvm.v20170312;

const port = process.argv[2];
const phase = process.argv[3] || "main";
// `signMethod` "HmacSHA1" or "HmacSHA256" signs with signature v1 (parameters in the query or a
// form body); the default is TC3-HMAC-SHA256.
// `language` is the SDK's profile.language ("zh-CN" or "en-US"), sent as X-TC-Language.
function client(secretId, secretKey, signMethod, reqMethod = "POST", language) {
  return new cvm.Client({
    credential: { secretId, secretKey },
    region: "ap-guangzhou",
    profile: {
      signMethod,
      language,
      httpProfile: { protocol: "http://", endpoint: `127.0.0.1:${port}`, reqMethod, reqTimeout: 10, agent: new http.Agent() },
    },
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

// ModifyImageSharePermission and DescribeImageSharePermission between the configured accounts
// (issue 13, point 9); AccountIds are their app_ids.
async function share() {
  const good = client("AKIDtest0000000000000000000000000001", "secret-one");
  const other = client("AKIDtest0000000000000000000000000002", "secret-two");
  const third = client("AKIDtest0000000000000000000000000003", "secret-three");
  const noid = client("AKIDtest0000000000000000000000000005", "secret-five");
  const named = async (name) => {
    const r = await good.DescribeImages({ Filters: [{ Name: "image-name", Values: [name] }] });
    return r.ImageSet.find((i) => i.ImageName === name).ImageId;
  };
  const arm = await named("debian-arm");            // NORMAL
  const byol = await named("byol-image");           // NORMAL, LicenseType BYOL
  const importing = await named("debian-web-2");    // IMPORTING
  const perm = (ImageId, AccountIds, Permission = "SHARE") => ({ ImageId, AccountIds, Permission });
  await run("share-importing", () => good.ModifyImageSharePermission(perm(importing, ["1250000002"])));
  await run("share", () => good.ModifyImageSharePermission(perm(arm, ["1250000002"])));
  await run("share-describe", () => good.DescribeImageSharePermission({ ImageId: arm }));
  await run("other-shared", () => other.DescribeImages({ Filters: [{ Name: "image-type", Values: ["SHARED_IMAGE"] }] }));
  await run("other-private", () => other.DescribeImages({ Filters: [{ Name: "image-type", Values: ["PRIVATE_IMAGE"] }] }));
  await run("other-by-id", () => other.DescribeImages({ ImageIds: [arm] }));
  await run("owner-type", () => good.DescribeImages({ ImageIds: [arm] }));
  await run("third-by-id", () => third.DescribeImages({ ImageIds: [arm] }));
  await run("other-delete-shared", () => other.DeleteImages({ ImageIds: [arm] }));
  await run("other-rename-shared", () => other.ModifyImageAttribute({ ImageId: arm, ImageName: "mine" }));
  await run("other-reshare", () => other.ModifyImageSharePermission(perm(arm, ["1250000003"])));
  await run("other-describe-share", () => other.DescribeImageSharePermission({ ImageId: arm }));
  await run("owner-delete-shared", () => good.DeleteImages({ ImageIds: [arm] }));
  await run("share-again", () => good.ModifyImageSharePermission(perm(arm, ["1250000002"])));
  await run("share-self", () => good.ModifyImageSharePermission(perm(arm, ["1250000001"])));
  await run("share-unknown-account", () => good.ModifyImageSharePermission(perm(arm, ["1259999999"])));
  await run("share-bad-account", () => good.ModifyImageSharePermission(perm(arm, ["team-a"])));
  await run("share-malformed-image", () => good.ModifyImageSharePermission(perm("image-1", ["1250000002"])));
  await run("share-unknown-image", () => good.ModifyImageSharePermission(perm("img-00000000", ["1250000002"])));
  await run("share-bad-permission", () => good.ModifyImageSharePermission(perm(arm, ["1250000002"], "GRANT")));
  await run("share-too-many", () => good.ModifyImageSharePermission(perm(arm, ["1250000002", "1250000003", "1250000004"])));
  await run("share-third", () => good.ModifyImageSharePermission(perm(arm, ["1250000003"])));
  await run("share-over-quota", () => good.ModifyImageSharePermission(perm(arm, ["1250000004"])));
  await run("share-byol", () => good.ModifyImageSharePermission(perm(byol, ["1250000002"])));
  await run("share-no-app-id", () => noid.ModifyImageSharePermission(perm(arm, ["1250000002"])));
  await run("share-describe-v1", () => client("AKIDtest0000000000000000000000000001", "secret-one", "HmacSHA1", "GET")
    .DescribeImageSharePermission({ ImageId: arm }));
  await run("share-cancel", () => good.ModifyImageSharePermission(perm(arm, ["1250000002", "1250000003"], "CANCEL")));
  await run("other-after-cancel", () => other.DescribeImages({ ImageIds: [arm] }));
  await run("owner-delete-after-cancel", () => good.DeleteImages({ ImageIds: [arm] }));
}

(async () => {
  if (phase === "share") return share();
  const good = client("AKIDtest0000000000000000000000000001", "secret-one");
  await run("os-list", () => good.DescribeImportImageOs({}));
  await run("wrong-key", () => client("AKIDtest0000000000000000000000000001", "not-the-key").DescribeImportImageOs({}));
  await run("unknown-id", () => client("AKIDnobody000000000000000000000000000", "x").DescribeImportImageOs({}));
  await run("unknown-action", () => good.request("NoSuchAction", {}));
  // The same error in the two languages the SDK offers (issue 13, point 12).
  for (const language of ["zh-CN", "en-US"]) {
    const speaker = client("AKIDtest0000000000000000000000000001", "secret-one", undefined, "POST", language);
    await run(`language-${language}`, () => speaker.ModifyImageAttribute({ ImageId: "img-00000000", ImageName: "x" }));
  }
  const other = client("AKIDtest0000000000000000000000000002", "secret-two");
  const req = {
    Architecture: "x86_64", OsType: "Debian", OsVersion: "12", ImageName: "debian-web",
    ImageUrl: "http://127.0.0.1:1/bucket/debian12.qcow2", ImageDescription: "from the SDK",
    TagSpecification: [{ ResourceType: "image", Tags: [{ Key: "team", Value: "web" }] }],
  };
  await run("import-dry-run", () => good.ImportImage({ ...req, DryRun: true }));
  await run("import", () => good.ImportImage(req));
  await run("import-duplicate", () => good.ImportImage(req));
  await run("import-bad-os", () => good.ImportImage({ ...req, ImageName: "x1", OsType: "Plan 9" }));
  await run("import-bad-version", () => good.ImportImage({ ...req, ImageName: "x2", OsVersion: "99" }));
  await run("import-bad-url", () => good.ImportImage({ ...req, ImageName: "x3", ImageUrl: "ftp://nowhere/x" }));
  await run("import-iso", () => good.ImportImage({ ...req, ImageName: "x4", ImageUrl: "http://h/b/setup.ISO" }));
  await run("import-boot-mode", () => good.ImportImage({ ...req, ImageName: "x5", BootMode: "EFI" }));
  await run("import-license", () => good.ImportImage({ ...req, ImageName: "x6", LicenseType: "GPL" }));
  await run("import-missing", () => good.ImportImage({ ...req, ImageName: undefined }));
  await run("import-long-name", () => good.ImportImage({ ...req, ImageName: "n".repeat(61) }));
  await run("describe-all", () => good.DescribeImages({}));
  await run("describe-filter", () => good.DescribeImages({ Filters: [{ Name: "tag:team", Values: ["web"] }], Limit: 10 }));
  const listed = await good.DescribeImages({}).catch(() => ({ ImageSet: [] }));
  const id = listed.ImageSet.length ? listed.ImageSet[0].ImageId : "img-none";
  await run("other-describe", () => other.DescribeImages({ ImageIds: [id] }));
  await run("other-list", () => other.DescribeImages({}));
  await run("other-modify", () => other.ModifyImageAttribute({ ImageId: id, ImageName: "stolen" }));
  await run("other-delete", () => other.DeleteImages({ ImageIds: [id] }));
  await run("modify", () => good.ModifyImageAttribute({ ImageId: id, ImageName: "debian-web-2" }));
  await run("describe-after-modify", () => good.DescribeImages({ ImageIds: [id] }));
  await run("delete-importing", () => good.DeleteImages({ ImageIds: [id] }));
  // Issue 13: DescribeImages semantics and the documented codes.
  await run("describe-unknown", () => good.DescribeImages({ ImageIds: ["img-00000000"] }));
  await run("describe-malformed", () => good.DescribeImages({ ImageIds: ["image-1"] }));
  await run("describe-coexist", () => good.DescribeImages({ ImageIds: [id], Filters: [{ Name: "image-type", Values: ["PRIVATE_IMAGE"] }] }));
  await run("describe-101-ids", () => good.DescribeImages({ ImageIds: Array(101).fill(id) }));
  await run("describe-11-filters", () => good.DescribeImages({ Filters: Array(11).fill({ Name: "image-type", Values: ["PRIVATE_IMAGE"] }) }));
  await run("describe-6-values", () => good.DescribeImages({ Filters: [{ Name: "image-name", Values: ["a", "b", "c", "d", "e", "f"] }] }));
  await run("describe-fuzzy-name", () => good.DescribeImages({ Filters: [{ Name: "image-name", Values: ["ebian-we"] }] }));
  await run("describe-fuzzy-platform", () => good.DescribeImages({ Filters: [{ Name: "platform", Values: ["Deb"] }] }));
  await run("describe-shared", () => good.DescribeImages({ Filters: [{ Name: "image-type", Values: ["SHARED_IMAGE"] }] }));
  await run("describe-cdc", () => good.DescribeImages({ Filters: [{ Name: "dedicated-cluster-id", Values: ["cluster-1"] }, { Name: "cdc-cache-status", Values: ["CACHED"] }] }));
  await run("import-dry-run-string", () => good.ImportImage({ ...req, ImageName: "x7", DryRun: "yes" }));
  await run("import-misspelled", () => good.ImportImage({ ...req, ImageName: "x8", ImportImageDataDisks: [{ ImageUrl: "http://h/b/d.raw" }] }));
  await run("describe-limit-string", () => good.DescribeImages({ Limit: "10" }));
  await run("import-chinese-name", () => good.ImportImage({ ...req, ImageName: "镜".repeat(30), DryRun: true }));
  await run("modify-long-description", () => good.ModifyImageAttribute({ ImageId: id, ImageDescription: "描".repeat(257) }));
  await run("import-arm", () => good.ImportImage({ ...req, ImageName: "debian-arm", Architecture: "arm_64" }));
  await run("modify-duplicate", () => good.ModifyImageAttribute({ ImageId: id, ImageName: "debian-arm" }));
  await run("modify-malformed", () => good.ModifyImageAttribute({ ImageId: "image-1", ImageName: "x" }));
  await run("delete-malformed", () => good.DeleteImages({ ImageIds: ["image-1"] }));
  await run("delete-101-ids", () => good.DeleteImages({ ImageIds: Array(101).fill(id) }));
  await run("describe-bad-limit", () => good.DescribeImages({ Limit: 101 }));
  await run("family-set", () => good.ModifyImageAttribute({ ImageId: id, ImageFamily: "web", ImageDeprecated: true }));
  await run("family-read", () => good.DescribeImages({ ImageIds: [id] }));
  await run("family-importing", () => good.DescribeImageFromFamily({ ImageFamily: "web" }));
  await run("family-missing", () => good.DescribeImageFromFamily({}));
  await run("family-long", () => good.ModifyImageAttribute({ ImageId: id, ImageFamily: "f".repeat(61) }));
  await run("quota", () => good.DescribeImageQuota({}));
  await run("quota-unknown", () => good.DescribeImageQuota({ Limit: 1 }));
  await run("describe-arm", () => good.DescribeImages({ Filters: [{ Name: "image-name", Values: ["debian-arm"] }] }));
  await run("import-byol", () => good.ImportImage({ ...req, ImageName: "byol-image", LicenseType: "BYOL" }));
  // Signature v1 (issue 13, point 3): HmacSHA256 and HmacSHA1, GET query and form POST.
  const v1 = (method, verb, key = "secret-one") => client("AKIDtest0000000000000000000000000001", key, method, verb);
  await run("v1-sha256-get", () => v1("HmacSHA256", "GET").DescribeImages({ Filters: [{ Name: "image-name", Values: ["debian-web"] }], Limit: 5 }));
  await run("v1-sha256-post", () => v1("HmacSHA256", "POST").DescribeImportImageOs({}));
  await run("v1-sha1-get", () => v1("HmacSHA1", "GET").DescribeImages({ ImageIds: [id] }));
  await run("v1-sha1-post-modify", () => v1("HmacSHA1", "POST").ModifyImageAttribute({ ImageId: id, ImageDescription: "描述 a+b&c=d%e" }));
  await run("v1-sha1-post-read", () => v1("HmacSHA1", "POST").DescribeImages({ ImageIds: [id] }));
  await run("v1-sha256-post-dry-run", () => v1("HmacSHA256", "POST").ImportImage({ ...req, ImageName: "v1-dry", DryRun: true }));
  await run("v1-sha256-post-wrong-key", () => v1("HmacSHA256", "POST", "not-the-key").DescribeImportImageOs({}));
  await run("v1-sha1-get-wrong-key", () => v1("HmacSHA1", "GET", "not-the-key").DescribeImages({}));
  // The message center (our own actions, through the SDK's generic request()).
  await run("messages-empty", () => good.request("DescribeMessages", {}));
  await run("messages-bad-limit", () => good.request("DescribeMessages", { Limit: 500 }));
  await run("messages-unknown", () => good.request("MarkMessagesRead", { MessageIds: ["msg-nothere"] }));
  await run("messages-missing", () => good.request("DeleteMessages", {}));
  await run("subscribe-bad-channel", () => good.request("CreateMessageSubscription", { Channel: "SMS", Endpoint: "1" }));
  await run("subscribe-bad-mail", () => good.request("CreateMessageSubscription", { Channel: "EMAIL", Endpoint: "ops" }));
  await run("subscribe-bad-hook", () => good.request("CreateMessageSubscription", { Channel: "WEBHOOK", Endpoint: "file:///x" }));
  await run("subscribe", () => good.request("CreateMessageSubscription", { Channel: "EMAIL", Endpoint: "ops@example.com" }));
  await run("subscribe-duplicate", () => good.request("CreateMessageSubscription", { Channel: "EMAIL", Endpoint: "ops@example.com" }));
  const subs = await good.request("DescribeMessageSubscriptions", {}).catch(() => ({ SubscriptionSet: [] }));
  const sub = subs.SubscriptionSet.length ? subs.SubscriptionSet[0].SubscriptionId : "sub-none";
  await run("other-subscriptions", () => other.request("DescribeMessageSubscriptions", {}));
  await run("other-unsubscribe", () => other.request("DeleteMessageSubscription", { SubscriptionId: sub }));
  await run("unsubscribe", () => good.request("DeleteMessageSubscription", { SubscriptionId: sub }));
  // A clock 10 minutes slow: the SDK signs with an old timestamp.
  const RealDate = Date;
  global.Date = class extends RealDate {
    constructor(...a) { if (a.length) super(...a); else super(RealDate.now() - 600000); }
    static now() { return RealDate.now() - 600000; }
  };
  await run("stale", () => good.DescribeImportImageOs({}));
  global.Date = RealDate;
})();

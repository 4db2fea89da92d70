// End-to-end tests of the web console in Debian's Chromium, driven by playwright-core, with
// axe-core judging every page. Run by tests/integration/console.sh, which starts `imagegate serve`
// (no workers: imports wait until this test runs `imagegate worker --until-idle`), Swift with the
// two uploads, and passes everything in the environment:
//   IG_BASE (http://127.0.0.1:PORT), IG_IMAGEGATE, IG_CONFIG, IG_DATA, IG_SCREENSHOTS,
//   IG_ID_A/IG_KEY_A (English account), IG_ID_B/IG_KEY_B (second account), IG_GOOD_URL,
//   IG_BAD_URL (presigned), IG_GOOD_FILE, IG_BAD_FILE (the same files, for `imagegate check`),
//   IG_OTHER_IMAGE (the name of an image account B imported before).
// Prints "ok - …" per case and closes with "N passed, M failed".
import { chromium } from "playwright-core";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";

const env = process.env;
const base = env.IG_BASE;
const shots = env.IG_SCREENSHOTS;
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let passed = 0;
let failed = 0;
function check(condition, what) {
  if (!condition) throw new Error(what);
}
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed += 1;
    console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`);
    await page.screenshot({ path: `${shots}/failed-${passed + failed}.png`, fullPage: true }).catch(() => {});
  }
}

// A webhook for the subscriptions page: it records each POST with its signature headers.
const hooks = [];
const hook = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => { body += c; });
  req.on("end", () => {
    hooks.push({ body, timestamp: req.headers["x-imagegate-timestamp"], signature: req.headers["x-imagegate-signature"] });
    res.end("ok");
  });
});
await new Promise((r) => hook.listen(0, "127.0.0.1", r));
const hookUrl = `http://127.0.0.1:${hook.address().port}/hook`;

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"], headless: true });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
const page = await context.newPage();
const cspViolations = [];
const pageErrors = [];
page.on("console", (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text()); });
page.on("pageerror", (e) => pageErrors.push(e.message));

// axe-core on the page as it is: no serious or critical violation of WCAG 2.1 A/AA or of axe's
// best practices. The engine is loaded through the DevTools protocol, which the page's CSP
// does not govern.
async function axe(label) {
  const loaded = await page.evaluate(() => typeof window.axe !== "undefined");
  if (!loaded) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe (${label}): ${JSON.stringify(bad)}`);
  return result.length;
}

// `imagegate worker --until-idle`, run asynchronously: the webhook it may call lives in this
// process, whose event loop must keep turning meanwhile.
function runWorker() {
  return new Promise((resolve) => {
    execFile(env.IG_IMAGEGATE, ["worker", "--config", env.IG_CONFIG, "--data", env.IG_DATA, "--until-idle"],
      { env: { ...env, ASAN_OPTIONS: "detect_leaks=0" }, timeout: 120000 },
      (error, stdout, stderr) => resolve({ status: error ? error.code || 1 : 0, stderr }));
  });
}

async function shot(name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

const h1 = () => page.locator("h1").innerText();
const rowOf = (name) => page.locator("tbody tr[data-image]", { has: page.locator("th", { hasText: name }) });

async function signIn(id, key) {
  await page.getByLabel("SecretId").fill(id);
  await page.getByLabel("SecretKey").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function setLanguage(code) {
  await page.locator("#language").selectOption(code);
  await page.waitForFunction((c) => document.documentElement.lang.startsWith(c), code);
  await page.waitForSelector("h1");
}

await step("the console's files come with their types, a strict CSP and nosniff; nothing else is served", async () => {
  const index = await fetch(`${base}/console/`);
  const csp = index.headers.get("content-security-policy") || "";
  check(index.headers.get("content-type") === "text/html; charset=utf-8", `index: ${index.headers.get("content-type")}`);
  for (const part of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "form-action 'none'"]) {
    check(csp.includes(part), `CSP lacks ${part}: ${csp}`);
  }
  check(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), `CSP allows inline code: ${csp}`);
  check(index.headers.get("x-content-type-options") === "nosniff", "no nosniff");
  for (const [path, type] of [["app.js", "text/javascript; charset=utf-8"], ["style.css", "text/css; charset=utf-8"],
    ["lang/ja.json", "application/json; charset=utf-8"], ["lang/rules.zh.json", "application/json; charset=utf-8"]]) {
    const r = await fetch(`${base}/console/${path}`);
    check(r.status === 200 && r.headers.get("content-type") === type, `${path}: ${r.status} ${r.headers.get("content-type")}`);
  }
  const redirect = await fetch(`${base}/console`, { redirect: "manual" });
  check(redirect.status === 301 && redirect.headers.get("location") === "/console/", `/console: ${redirect.status}`);
  // Raw request targets, not normalised by a client: nothing outside the table is ever opened.
  for (const target of ["/console/../etc/passwd", "/console/%2e%2e/%2e%2e/etc/passwd", "/console/lang/../app.js",
    "/console/nothing.html", "/console//etc/passwd"]) {
    const out = execFileSync("curl", ["-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", `${base}${target}`]).toString();
    check(out === "404", `${target}: HTTP ${out}`);
  }
  const post = await fetch(`${base}/console/`, { method: "POST", body: "x" });
  check(post.status === 405, `POST /console/: ${post.status}`);
});

await step("five catalogs with the same keys, none empty, holding every key the pages name", async () => {
  const catalogs = {};
  for (const code of ["en", "zh", "ja", "id", "pt"]) {
    catalogs[code] = await (await fetch(`${base}/console/lang/${code}.json`)).json();
    const rules = await (await fetch(`${base}/console/lang/rules.${code}.json`)).json();
    check(rules["title.virtio"] && rules["report.advice"], `rules.${code}.json lacks check titles`);
  }
  const keys = Object.keys(catalogs.en).sort().join(" ");
  for (const [code, c] of Object.entries(catalogs)) {
    check(Object.keys(c).sort().join(" ") === keys, `${code}.json has other keys than en.json`);
    const empty = Object.entries(c).filter(([, v]) => typeof v !== "string" || !v.trim()).map(([k]) => k);
    check(empty.length === 0, `${code}.json: empty ${empty}`);
  }
  for (const file of ["app.js", "dom.js", "images.js", "wizard.js", "messages.js"]) {
    const source = await (await fetch(`${base}/console/${file}`)).text();
    for (const [, key] of source.matchAll(/\bt\("([a-z0-9.-]+)"/g)) check(key in catalogs.en, `${file} names ${key}, not in en.json`);
  }
});

await step("sign-in page: labelled, accessible, in English", async () => {
  await page.goto(`${base}/console/`);
  await page.waitForSelector("h1");
  check((await h1()) === "Sign in", `h1: ${await h1()}`);
  await axe("sign-in");
  await shot("signin-en");
});

await step("a wrong key shows the API's error, and nothing is kept", async () => {
  await signIn(env.IG_ID_A, "not-the-key");
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const text = await alert.innerText();
  check(text.includes("AuthFailure.SignatureFailure"), `alert: ${text}`);
  await signIn("AKIDnobody00000000000000000000000000", "x");
  await page.waitForFunction(() => document.querySelector("[role=alert]").innerText.includes("AuthFailure.SecretIdNotFound"));
  const stored = await page.evaluate(() => `${sessionStorage.length} ${localStorage.getItem("imagegate.credentials")}`);
  check(stored === "0 null", `stored after failures: ${stored}`);
  await shot("signin-error-en");
});

await step("sign in: the key is in this tab's sessionStorage only", async () => {
  await signIn(env.IG_ID_A, env.IG_KEY_A);
  await page.waitForSelector("h1:text('Custom images')");
  const where = await page.evaluate(() => ({
    session: sessionStorage.getItem("imagegate.credentials"),
    local: Object.keys(localStorage).map((k) => localStorage.getItem(k)).join(" "),
  }));
  check(where.session && where.session.includes(env.IG_KEY_A), "the key is not in sessionStorage");
  check(!where.local.includes(env.IG_KEY_A), "the key is in localStorage");
  check(!(await page.content()).includes(env.IG_OTHER_IMAGE), "account B's image is listed for account A");
  await axe("empty list");
});

let command = "";
await step("wizard step 1: the exact `imagegate check` command for the chosen OS, and it judges both uploads", async () => {
  await page.getByRole("link", { name: "Import image" }).click();
  await page.waitForSelector("h2:text('Check the file before uploading it')");
  await page.getByLabel("Operating system").selectOption("Debian");
  await page.getByLabel("Version").selectOption("12");
  await page.getByLabel("Architecture").selectOption("x86_64");
  command = await page.locator("pre code").first().innerText();
  check(command === "imagegate check --os-type Debian --os-version 12 --arch x86_64 --lang en IMAGE_FILE", command);
  const run = (file) => spawnSync(env.IG_IMAGEGATE, command.split(" ").slice(1, -1).concat([file]),
    { encoding: "utf8", env: { ...env, ASAN_OPTIONS: "detect_leaks=0", NO_COLOR: "1" } });
  const good = run(env.IG_GOOD_FILE);
  check(good.status === 0, `check of the good image: exit ${good.status}: ${good.stdout}${good.stderr}`);
  const bad = run(env.IG_BAD_FILE);
  check(bad.status === 1 && bad.stdout.includes("VirtioNotInstall"), `check of the no-virtio image: exit ${bad.status}: ${bad.stdout}`);
  // A name with a space is quoted for the shell.
  await page.getByLabel("Operating system").selectOption("Rocky Linux");
  const rocky = await page.locator("pre code").first().innerText();
  check(rocky.startsWith("imagegate check --os-type 'Rocky Linux' --os-version 8"), rocky);
  await page.getByLabel("Operating system").selectOption("Debian");
  await page.getByLabel("Version").selectOption("12");
  await axe("wizard step 1");
  await shot("import-step1-en");
});

async function fillStepTwo(name, url) {
  await page.getByLabel("Image name").fill(name);
  await page.getByLabel("Operating system").selectOption("Debian");
  await page.getByLabel("Version").selectOption("12");
  await page.getByLabel("Architecture").selectOption("x86_64");
  await page.getByLabel("Image file URL").fill(url);
}

await step("wizard step 2: the API's rules checked in the page, errors beside their fields", async () => {
  await page.getByRole("link", { name: "Next" }).click();
  await page.waitForSelector("text=Step 2 of 2:");
  await page.getByRole("button", { name: "Import", exact: true }).click();
  const name = page.getByLabel("Image name");
  check((await name.getAttribute("aria-invalid")) === "true", "the empty name is not marked invalid");
  check(await name.evaluate((el) => el === document.activeElement), "focus is not on the first wrong field");
  const described = await name.getAttribute("aria-describedby");
  const errorText = await page.locator(`[id="${described.split(" ").pop()}"]`).innerText();
  check(errorText === "Fill in this field.", `name error: ${errorText}`);
  await name.fill("镜".repeat(61));  // 61 characters, 183 bytes: the API counts characters
  await page.getByLabel("Image file URL").fill("ftp://example/disk.qcow2");
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.waitForSelector("text=At most 60 characters; this has 61.");
  await page.waitForSelector("text=Enter an http:// or https:// URL without spaces.");
  await name.fill("镜".repeat(60));
  await page.getByLabel("Image file URL").fill("http://127.0.0.1/installer.iso");
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.waitForSelector("text=An ISO file can only be imported with Force.");
  check((await page.getByLabel("Image name").getAttribute("aria-invalid")) === null, "60 characters refused");
  await page.getByRole("button", { name: "Add a data disk" }).click();
  await page.getByRole("button", { name: "Add a tag" }).click();
  await axe("wizard step 2 with errors");
  await shot("import-step2-errors-en");
  await page.getByRole("button", { name: "Remove data disk 1" }).click();
  await page.getByRole("button", { name: "Remove tag 1" }).click();
});

await step("import the good image and the no-virtio image through the wizard (DryRun, then the call)", async () => {
  await fillStepTwo("debian12-good", env.IG_GOOD_URL);
  await page.getByRole("button", { name: "Add a tag" }).click();
  await page.getByLabel("Tag 1 key").fill("team");
  await page.getByLabel("Tag 1 value").fill("web");
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.waitForSelector("text=The import of debian12-good has started");
  await rowOf("debian12-good").waitFor();
  await page.getByRole("link", { name: "Import image" }).click();
  await page.getByRole("link", { name: "Next" }).click();
  await fillStepTwo("debian12-novirtio", env.IG_BAD_URL);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.waitForSelector("text=The import of debian12-novirtio has started");
});

await step("an API refusal lands beside its field: a duplicate name (DryRun)", async () => {
  await page.getByRole("link", { name: "Import image" }).click();
  await page.getByRole("link", { name: "Next" }).click();
  await fillStepTwo("debian12-good", env.IG_GOOD_URL);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.waitForSelector("text=InvalidImageName.Duplicate");
  const name = page.getByLabel("Image name");
  const described = (await name.getAttribute("aria-describedby")).split(" ").pop();
  const text = await page.locator(`[id="${described}"]`).innerText();
  check(text.startsWith("InvalidImageName.Duplicate: "), `beside the name: ${text}`);
  await shot("import-step2-en");
  await page.getByRole("link", { name: "Custom images" }).click();
});

await step("while importing: progress shown, and delete refused by the API (InvalidImageId.IncorrectState)", async () => {
  await rowOf("debian12-novirtio").waitFor();
  const state = await rowOf("debian12-good").locator(".state").innerText();
  check(state === "Importing", `state: ${state}`);
  check(await rowOf("debian12-good").locator("progress").count() === 1, "no progress bar");
  // No worker runs yet, so no detail: the bar alone.
  check(await rowOf("debian12-good").locator(".progress-detail").count() === 0, "a detail before any worker");
  // The detail as a worker records it (the service tier checks the API's figures against a real
  // import): here the console's rendering of one, injected into the server's own answer.
  const detailOf = (json) => {
    for (const image of json.Response.ImageSet || []) {
      if (image.ImageName === "debian12-good") {
        image.ImportProgress = 40;
        image.ImportProgressDetail = { Disk: 1, Disks: 2, FetchedBytes: 1610612736, TotalBytes: 2147483648,
          ConvertedBytes: 858993459, VirtualBytes: 10737418240, SecondsLeft: 150 };
      }
    }
    return json;
  };
  await page.route("**/", async (route) => {
    if (route.request().headers()["x-tc-action"] !== "DescribeImages") return route.fallback();
    const response = await route.fetch();
    await route.fulfill({ response, json: detailOf(await response.json()) });
  });
  await page.getByRole("button", { name: "Refresh" }).click();
  const detail = rowOf("debian12-good").locator(".progress-detail");
  await detail.waitFor();
  const shown = await detail.innerText();
  check(shown === "disk 1 of 2 · 1.5 GiB of 2.0 GiB downloaded · 819.2 MiB of 10.0 GiB converted · about 3 min left",
    `detail: ${shown}`);
  await axe("import progress detail");
  await shot("images-progress-detail-en");
  await page.unroute("**/");
  await rowOf("debian12-good").getByRole("button", { name: "Delete debian12-good" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").getByText("InvalidImageId.IncorrectState").waitFor();
  await axe("delete refused");
  await shot("images-delete-refused-en");
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });
});

await step("a worker runs: the list refreshes by itself to NORMAL and IMPORTFAILED with code, cause and advice", async () => {
  const worker = await runWorker();
  check(worker.status === 0, `worker: ${worker.status} ${worker.stderr.slice(-2000)}`);
  await rowOf("debian12-good").locator(".state-normal").waitFor({ timeout: 20000 });
  await rowOf("debian12-novirtio").locator(".state-importfailed").waitFor({ timeout: 20000 });
  const good = await rowOf("debian12-good").innerText();
  check(/Debian 12/.test(good) && /x86_64/.test(good) && /\d+ GiB/.test(good), `good row: ${good}`);
  const id = await rowOf("debian12-novirtio").getAttribute("data-image");
  const failure = await page.locator(`tr[data-failure="${id}"]`).innerText();
  check(failure.includes("VirtioNotInstall") && failure.includes("the virtio drivers are missing"), `failure: ${failure}`);
  check(failure.includes("virtio_blk is neither built in nor available as a module"), `cause: ${failure}`);
  check(failure.includes("What to do") && failure.includes("update-initramfs -u"), `advice: ${failure}`);
  await axe("image list");
  await shot("images-en");
});

await step("filter by name, rename through the dialog", async () => {
  await page.getByRole("searchbox", { name: "Filter by name" }).fill("novirtio");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForFunction(() => document.querySelectorAll("tbody tr[data-image]").length === 1);
  check(await rowOf("debian12-novirtio").count() === 1, "the filter lost the match");
  await page.getByRole("searchbox", { name: "Filter by name" }).fill("");
  await page.getByRole("button", { name: "Search" }).click();
  await rowOf("debian12-good").waitFor();
  await rowOf("debian12-good").getByRole("button", { name: "Rename debian12-good" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name", { exact: true }).fill("debian12-web");
  await axe("rename dialog");
  await dialog.getByRole("button", { name: "Save" }).click();
  await rowOf("debian12-web").waitFor();
});

await step("sharing is offered exactly when the server has it", async () => {
  const has = await page.evaluate(async () => {
    const m = await import("./api.js");
    try {
      await m.call(m.loadCredentials(), "DescribeImageSharePermission", {});
      return true;
    } catch (e) {
      return e.code !== "InvalidAction";
    }
  });
  const buttons = await page.getByRole("button", { name: /^Share / }).count();
  check(has ? buttons === 1 : buttons === 0, `sharing ${has ? "exists" : "is absent"}, ${buttons} share buttons`);
  console.log(`# ModifyImageSharePermission ${has ? "exists: the share button is shown" : "is absent: no share button"}`);
});

await step("sharing through its dialog: one's own account refused with the API's code, another shared, then stopped", async () => {
  if (await page.getByRole("button", { name: "Share debian12-web" }).count() === 0) {
    console.log("# no sharing on this server: the dialog is not exercised");
    return;
  }
  const open = async () => {
    await rowOf("debian12-web").getByRole("button", { name: "Share debian12-web" }).click();
    return page.getByRole("dialog");
  };
  let dialog = await open();
  await dialog.getByText("Not shared with any account.").waitFor();
  await axe("share dialog");
  await dialog.getByLabel("Account IDs").fill("1250000101");
  await dialog.getByRole("button", { name: "Share", exact: true }).click();
  await dialog.getByText("InvalidAccountIs.YourSelf").waitFor();
  await dialog.getByLabel("Account IDs").fill("1250000102");
  await dialog.getByRole("button", { name: "Share", exact: true }).click();
  await dialog.waitFor({ state: "detached" });
  dialog = await open();
  await dialog.getByRole("button", { name: "Stop sharing with 1250000102" }).waitFor();
  await shot("images-share-en");
  await dialog.getByRole("button", { name: "Stop sharing with 1250000102" }).click();
  await dialog.getByText("Not shared with any account.").waitFor();
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  const left = await page.evaluate(async () => {
    const m = await import("./api.js");
    const images = await m.call(m.loadCredentials(), "DescribeImages", {});
    const id = images.ImageSet.find((i) => i.ImageName === "debian12-web").ImageId;
    return (await m.call(m.loadCredentials(), "DescribeImageSharePermission", { ImageId: id })).SharePermissionSet.length;
  });
  check(left === 0, `still shared with ${left} accounts after stopping`);
});

await step("the message center: unread count, the failure in the account's language, mark read, delete", async () => {
  await page.waitForFunction(() => document.getElementById("unread") && document.getElementById("unread").innerText === "2");
  await page.getByRole("link", { name: /Message center/ }).click();
  await page.waitForSelector("text=2 messages, 2 unread.");
  const failedMessage = page.locator("li.message", { hasText: "Image debian12-novirtio could not be imported" });
  const content = await failedMessage.locator(".content").innerText();
  check(content.includes("Error code VirtioNotInstall"), `content: ${content}`);
  await axe("message center");
  await shot("messages-en");
  await failedMessage.getByRole("checkbox").check();
  await page.getByRole("button", { name: "Mark as read" }).click();
  await page.waitForSelector("text=2 messages, 1 unread.");
  await page.waitForFunction(() => document.getElementById("unread").innerText === "1");
  await page.getByLabel("Unread only").check();
  // Both messages stay on screen until the filtered page arrives: wait for the list to change,
  // then see which one is left.
  await page.waitForFunction(() => document.querySelectorAll("li.message").length === 1);
  const left = await page.locator("li.message").innerText();
  check(left.includes("Image debian12-good imported"), `unread only shows: ${left}`);
  await page.getByLabel("Unread only").uncheck();
  await page.locator("li.message", { hasText: "Image debian12-good imported" }).getByRole("checkbox").check();
  await page.getByRole("button", { name: "Delete selected" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.waitForSelector("text=1 messages, 0 unread.");
});

await step("subscriptions: a webhook (secret shown once) and an e-mail; the test delivery reports the outcome", async () => {
  await page.getByRole("link", { name: "Subscriptions" }).click();
  await page.getByLabel("Webhook", { exact: true }).check();
  await page.getByLabel("Webhook URL").fill(hookUrl);
  await page.getByRole("button", { name: "Subscribe" }).click();
  const secret = await page.locator("code.secret").innerText();
  check(/^[0-9a-f]{48}$/.test(secret), `secret: ${secret}`);
  await page.getByRole("button", { name: `Send a test to ${hookUrl}` }).click();
  await page.waitForSelector(`text=The test message was delivered to ${hookUrl}.`);
  check(hooks.length === 1, `the webhook got ${hooks.length} requests`);
  const expected = "sha256=" + createHmac("sha256", secret).update(`${hooks[0].timestamp}.${hooks[0].body}`).digest("hex");
  check(hooks[0].signature === expected, "the test delivery's signature does not verify");
  check(JSON.parse(hooks[0].body).Kind === "TEST", `kind: ${hooks[0].body}`);
  await page.getByLabel("E-mail", { exact: true }).check();
  await page.getByLabel("E-mail address").fill("ops@example.com");
  await page.getByRole("button", { name: "Subscribe" }).click();
  await page.getByRole("button", { name: "Send a test to ops@example.com" }).click();
  await page.waitForSelector("text=The test message could not be delivered to ops@example.com: no SMTP server is configured");
  await page.getByLabel("E-mail address").fill("not an address");
  await page.getByRole("button", { name: "Subscribe" }).click();
  await page.waitForSelector("text=Enter an e-mail address such as name@example.com.");
  await axe("subscriptions");
  await shot("subscriptions-en");
});

await step("delete a failed image through the dialog", async () => {
  await page.getByRole("link", { name: "Custom images" }).click();
  await rowOf("debian12-novirtio").getByRole("button", { name: "Delete debian12-novirtio" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await page.waitForSelector("text=Image debian12-novirtio was deleted.");
  check(await rowOf("debian12-novirtio").count() === 0, "the deleted image is still listed");
});

await step("Japanese: the same pages translated, check titles and advice from imagegate check's own table", async () => {
  // Import the failure again so that the list shows a failed row in Japanese.
  await page.getByRole("link", { name: "Import image" }).click();
  await page.getByRole("link", { name: "Next" }).click();
  await fillStepTwo("debian12-novirtio-2", env.IG_BAD_URL);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await rowOf("debian12-novirtio-2").waitFor();
  const worker = await runWorker();
  check(worker.status === 0, `worker: ${worker.status} ${worker.stderr.slice(-2000)}`);
  await rowOf("debian12-novirtio-2").locator(".state-importfailed").waitFor({ timeout: 20000 });
  await setLanguage("ja");
  check((await h1()) === "カスタムイメージ", `h1: ${await h1()}`);
  const failure = await page.locator("tr.failure-row").innerText();
  check(failure.includes("エラーコード") && failure.includes("virtio ドライバーがインストールされていません"), failure);
  check(failure.includes("対処方法") && failure.includes("update-initramfs -u"), `advice: ${failure}`);
  check((await page.locator(".state-importfailed").first().innerText()) === "インポート失敗", "state label");
  await axe("images ja");
  await shot("images-ja");
  await page.getByRole("link", { name: "イメージのインポート" }).click();
  await page.waitForSelector("h2:text('アップロードの前にファイルを確認する')");
  check((await page.locator("li strong").first().innerText()) === "イメージ形式", "the check title is not imagegate check's");
  const ja = await page.locator("pre code").first().innerText();
  check(ja.endsWith("--lang ja IMAGE_FILE"), ja);
  await axe("wizard ja");
  await shot("import-step1-ja");
  await page.getByRole("link", { name: "次のステップへ" }).click();
  await page.waitForSelector("text=ステップ 2/2:");
  await shot("import-step2-ja");
  await page.getByRole("link", { name: /メッセージセンター/ }).click();
  await page.waitForSelector("h1:text('メッセージセンター')");
  await axe("messages ja");
  await shot("messages-ja");
  await page.getByRole("link", { name: "サブスクリプション", exact: true }).click();
  await page.waitForSelector("h1:text('サブスクリプション')");
  await axe("subscriptions ja");
  await shot("subscriptions-ja");
});

await step("Chinese: the same pages translated; the choice survives a reload", async () => {
  await setLanguage("zh");
  check((await h1()) === "消息订阅", `h1: ${await h1()}`);
  await page.reload();
  await page.waitForSelector("h1:text('消息订阅')");
  await page.getByRole("link", { name: "自定义镜像" }).click();
  await page.waitForSelector("h1:text('自定义镜像')");
  const failure = await page.locator("tr.failure-row").innerText();
  check(failure.includes("错误码") && failure.includes("未安装 virtio 驱动") && failure.includes("处理建议"), failure);
  await axe("images zh");
  await shot("images-zh");
  await page.getByRole("link", { name: /消息中心/ }).click();
  await page.waitForSelector("h1:text('消息中心')");
  await shot("messages-zh");
  await setLanguage("en");
});

await step("360 px wide: no sideways scrolling, rows become cards; the skip link and Escape work from the keyboard", async () => {
  await page.setViewportSize({ width: 360, height: 780 });
  await page.getByRole("link", { name: "Custom images" }).click();
  await rowOf("debian12-web").waitFor();
  for (const where of ["#/images", "#/import", "#/import/2", "#/messages", "#/subscriptions"]) {
    await page.evaluate((h) => { location.hash = h; }, where);
    await page.waitForSelector("h1");
    await page.waitForTimeout(300);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 360, `${where} is ${width} px wide at 360`);
  }
  await page.evaluate(() => { location.hash = "#/images"; });
  await rowOf("debian12-web").waitFor();
  await shot("images-360-en");
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.locator("#skip").focus();
  const top = await page.locator("#skip").evaluate((el) => el.getBoundingClientRect().top);
  check(top >= 0, "the focused skip link is not visible");
  await page.keyboard.press("Enter");
  check(await page.evaluate(() => document.activeElement.id) === "main", "the skip link does not move to the main content");
});

await step("sign out clears the key; another account never sees these images, nor they its", async () => {
  const mine = await page.locator("tbody tr[data-image]").evaluateAll((rows) => rows.map((r) => r.dataset.image));
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForSelector("h1:text('Sign in')");
  check(await page.evaluate(() => sessionStorage.getItem("imagegate.credentials")) === null, "the key survived sign-out");
  await setLanguage("ja");
  check((await h1()) === "ログイン", `h1: ${await h1()}`);
  await axe("sign-in ja");
  await shot("signin-ja");
  await setLanguage("en");
  await signIn(env.IG_ID_B, env.IG_KEY_B);
  await rowOf(env.IG_OTHER_IMAGE).waitFor();
  const theirs = await page.locator("tbody tr[data-image]").evaluateAll((rows) => rows.map((r) => r.dataset.image));
  check(theirs.length === 1, `account B lists ${theirs.length} images`);
  check(mine.length >= 2 && !mine.some((id) => theirs.includes(id)), `shared ids: ${mine} / ${theirs}`);
  const html = await page.content();
  check(!html.includes("debian12-web") && !html.includes("debian12-novirtio"), "account A's images appear for account B");
  await page.getByRole("link", { name: /Message center/ }).click();
  await page.waitForSelector("text=1 messages");
  check(!(await page.content()).includes("debian12-"), "account A's messages appear for account B");
});

await step("no page broke the Content-Security-Policy or threw", async () => {
  check(cspViolations.length === 0, `CSP: ${cspViolations.join(" | ")}`);
  check(pageErrors.length === 0, `errors: ${pageErrors.join(" | ")}`);
});

await browser.close();
hook.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

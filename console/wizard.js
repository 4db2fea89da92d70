// Images → Custom images → Import image: the two steps of the cloud's console. Step 1 tells how
// to check the file with `imagegate check` and put it in object storage; step 2 is the form,
// validated here by the API's own rules, then tried with DryRun, then sent.

import { h, replace, field, setFieldError, characters, errorText, uid } from "./dom.js";
import { t, rt, language } from "./i18n.js";
import { noticeForImages } from "./images.js";

const FILE = "IMAGE_FILE";

// What the user chose, kept while moving between the steps.
const draft = {
  region: null, name: "", osType: "", osVersion: "", arch: "", bootMode: "Legacy BIOS", license: "TencentCloud",
  url: "", description: "", disks: [], tags: [], force: false,
};

async function osList(ctx) {
  if (!ctx.osList) ctx.osList = await ctx.call("DescribeImportImageOs", {});
  return ctx.osList;
}

function osEntry(list, name) {
  return (list.ImportImageOsVersionSet || []).find((o) => o.OsName === name);
}

function quote(s) {
  return /^[A-Za-z0-9._\/=-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

// The `imagegate check` command for the chosen OS, in the console's language.
export function checkCommand() {
  return ["imagegate", "check", "--os-type", quote(draft.osType), "--os-version", quote(draft.osVersion),
    "--arch", quote(draft.arch), "--lang", language().code, draft.force ? "--force" : null, FILE]
    .filter(Boolean).join(" ");
}

function steps(current) {
  const item = (n, key) => h("li", { "aria-current": n === current ? "step" : null, class: n === current ? "current" : null },
    t("wizard.step", n, 2), " ", t(key));
  return h("ol", { class: "steps", "aria-label": t("wizard.steps") }, item(1, "wizard.step1"), item(2, "wizard.step2"));
}

function selectOptions(values, selected) {
  return values.map((v) => h("option", { value: v, selected: v === selected }, v));
}

// The OS type, version and architecture selects, kept consistent with DescribeImportImageOs.
function osFields(list, onChange) {
  const supported = list.ImportImageOsListSupported || {};
  if (!draft.osType) draft.osType = (supported.Linux || [])[0] || "";
  const type = h("select", {},
    ["Linux", "Windows"].map((family) => h("optgroup", { label: family },
      selectOptions(supported[family] || [], draft.osType))));
  const version = h("select", {});
  const arch = h("select", {});
  const refill = () => {
    const os = osEntry(list, draft.osType) || { OsVersions: [], Architecture: [] };
    if (!os.OsVersions.includes(draft.osVersion)) draft.osVersion = os.OsVersions[0] || "";
    if (!os.Architecture.includes(draft.arch)) draft.arch = os.Architecture[0] || "";
    replace(version, selectOptions(os.OsVersions, draft.osVersion));
    replace(arch, selectOptions(os.Architecture, draft.arch));
  };
  refill();
  type.addEventListener("change", () => { draft.osType = type.value; refill(); onChange(); });
  version.addEventListener("change", () => { draft.osVersion = version.value; onChange(); });
  arch.addEventListener("change", () => { draft.arch = arch.value; onChange(); });
  return {
    type: field(t("wizard.os-type"), type),
    version: field(t("wizard.os-version"), version, t("wizard.os-version-hint")),
    arch: field(t("wizard.arch"), arch),
  };
}

function codeBlock(text, label) {
  const code = h("code", {}, text);
  const copy = h("button", { type: "button", class: "copy", onclick: async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      copy.textContent = t("action.copied");
    } catch {
      copy.textContent = t("action.copy-failed");
    }
  } }, t("action.copy"));
  return h("div", { class: "command" }, h("pre", { tabindex: "0", "aria-label": label }, code), copy);
}

async function stepOne(ctx, main) {
  const list = await osList(ctx);
  const command = codeBlock("", t("wizard.check-command"));
  const update = () => { command.querySelector("code").textContent = checkCommand(); };
  const os = osFields(list, update);
  update();
  const requirement = (title, text) => h("li", {}, h("strong", {}, title), ": ", text);
  const region = draft.region || ctx.credentials.region;
  replace(main,
    h("h1", { tabindex: "-1" }, t("wizard.title")),
    h("p", { class: "breadcrumb" }, t("wizard.breadcrumb")),
    steps(1),
    h("section", { "aria-labelledby": "req-h" },
      h("h2", { id: "req-h" }, t("wizard.requirements")),
      h("ul", {},
        requirement(rt("title.format"), t("req.format")),
        requirement(rt("title.virtual-size"), t("req.vsize")),
        requirement(rt("title.qcow2-size"), t("req.qsize")),
        requirement(rt("title.partition-table"), t("req.partition")),
        requirement(rt("title.virtio"), t("req.virtio")),
        requirement(rt("title.cloud-init"), t("req.cloud-init")))),
    h("section", { "aria-labelledby": "check-h" },
      h("h2", { id: "check-h" }, t("wizard.check")),
      h("p", {}, t("wizard.check-intro")),
      h("div", { class: "row" }, os.type, os.version, os.arch),
      command,
      h("p", { class: "hint" }, t("wizard.check-exit"))),
    h("section", { "aria-labelledby": "upload-h" },
      h("h2", { id: "upload-h" }, t("wizard.upload")),
      h("ol", {},
        h("li", {}, t("wizard.upload-bucket", region)),
        h("li", {}, t("wizard.upload-file"), codeBlock(`aws s3 cp ${FILE} s3://BUCKET/${FILE} --endpoint-url ENDPOINT`,
          t("wizard.upload-command"))),
        h("li", {}, t("wizard.upload-url"),
          h("ul", {},
            h("li", {}, t("wizard.url-signed"), codeBlock(
              `aws s3 presign s3://BUCKET/${FILE} --expires-in 86400 --endpoint-url ENDPOINT`, t("wizard.presign-command"))),
            h("li", {}, t("wizard.url-public")))),
        h("li", {}, t("wizard.upload-region")))),
    h("div", { class: "actions" },
      h("a", { class: "button primary", href: "#/import/2" }, t("wizard.next")),
      h("a", { class: "button", href: "#/images" }, t("action.cancel"))));
}

// Which field an API error concerns, from its code (and, for the generic codes, its message).
function fieldOfError(code, message) {
  const m = String(message);
  if (code === "InvalidImageName.Duplicate") return "name";
  if (code === "InvalidImageOsType.Unsupported") return "osType";
  if (code === "InvalidImageOsVersion.Unsupported") return "osVersion";
  if (code === "InvalidParameterValue.InvalidBootMode") return "bootMode";
  if (code === "InvalidParameterValue.InvalidLicenseType") return "license";
  if (code === "InvalidParameterValue.ISOMustImportByForce") return "url";
  if (code === "UnsupportedRegion") return "region";
  if (code === "InvalidParameter.InvalidParameterUrlError") return /data disk/i.test(m) ? "disks" : "url";
  if (/ImageName/.test(m)) return "name";
  if (/ImageDescription/.test(m)) return "description";
  if (/Architecture/.test(m)) return "arch";
  if (/TagSpecification|tags/.test(m)) return "tags";
  if (/ImportImageDataDiskList/.test(m)) return "disks";
  return null;
}

function isHttpUrl(s) {
  return /^https?:\/\/[^\s\/][^\s]*$/i.test(s) && s.length <= 4096;
}

// A list of rows (data disks, tags) with add and remove buttons.
function rowList(kind, values, makeRow, max) {
  const list = h("ul", { class: "rows" });
  const add = h("button", { type: "button" }, t(`wizard.add-${kind}`));
  const render = () => {
    replace(list, values.map((v, i) => h("li", {}, makeRow(v, i),
      h("button", { type: "button", "aria-label": t(`wizard.remove-${kind}`, i + 1), onclick: () => {
        values.splice(i, 1);
        render();
        add.focus();
      } }, t("action.remove")))));
    add.disabled = values.length >= max;
  };
  add.addEventListener("click", () => {
    values.push(kind === "disk" ? "" : { Key: "", Value: "" });
    render();
    const inputs = list.querySelectorAll("input");
    if (inputs.length) inputs[inputs.length - (kind === "disk" ? 1 : 2)].focus();
  });
  render();
  return [list, add];
}

async function stepTwo(ctx, main) {
  const list = await osList(ctx);
  draft.region = draft.region || ctx.credentials.region;
  const fields = {};
  fields.region = field(t("wizard.region"), h("select", { onchange: (e) => { draft.region = e.target.value; } },
    selectOptions(ctx.regions, draft.region)), t("wizard.region-hint"));
  fields.name = field(t("wizard.name"), h("input", { value: draft.name, required: true, maxlength: "200",
    oninput: (e) => { draft.name = e.target.value; } }), t("form.name-hint"));
  const os = osFields(list, () => {});
  fields.osType = os.type;
  fields.osVersion = os.version;
  fields.arch = os.arch;
  const radios = (name, values, key) => {
    const legendId = uid("legend");
    const errorId = uid("err");
    const group = h("fieldset", { class: "field radios", "aria-describedby": errorId },
      h("legend", { id: legendId }, t(`wizard.${name}`)),
      values.map(([value, label]) => {
        const id = uid("r");
        return h("div", { class: "radio" }, h("input", { type: "radio", id, name, value, checked: draft[key] === value,
          onchange: () => { draft[key] = value; } }), h("label", { for: id }, label));
      }),
      h("p", { class: "field-error", id: errorId, hidden: true }));
    group.control = group.querySelector("input");
    group.error = group.querySelector(".field-error");
    return group;
  };
  fields.bootMode = radios("boot-mode", [["Legacy BIOS", t("wizard.boot-bios")], ["UEFI", t("wizard.boot-uefi")]], "bootMode");
  fields.license = radios("license", [["TencentCloud", t("wizard.license-cloud")], ["BYOL", t("wizard.license-byol")]],
    "license");
  fields.url = field(t("wizard.url"), h("input", { type: "url", value: draft.url, required: true, spellcheck: "false",
    oninput: (e) => { draft.url = e.target.value; } }), t("wizard.url-hint"));
  fields.description = field(t("wizard.description"), h("textarea", { rows: "3",
    oninput: (e) => { draft.description = e.target.value; } }, draft.description), t("form.description-hint"));
  const [diskList, diskAdd] = rowList("disk", draft.disks, (v, i) => {
    const id = uid("disk");
    return [h("label", { for: id }, t("wizard.disk-n", i + 1)),
      h("input", { id, type: "url", value: v, spellcheck: "false", oninput: (e) => { draft.disks[i] = e.target.value; } })];
  }, 16);
  fields.disks = h("fieldset", { class: "field" }, h("legend", {}, t("wizard.disks")),
    h("p", { class: "hint" }, t("wizard.disks-hint")), diskList, diskAdd, h("p", { class: "field-error", hidden: true }));
  fields.disks.control = diskAdd;
  fields.disks.error = fields.disks.querySelector(".field-error");
  const [tagList, tagAdd] = rowList("tag", draft.tags, (tag, i) => {
    const k = uid("tk");
    const v = uid("tv");
    return [h("label", { for: k }, t("wizard.tag-key", i + 1)),
      h("input", { id: k, value: tag.Key, oninput: (e) => { tag.Key = e.target.value; } }),
      h("label", { for: v }, t("wizard.tag-value", i + 1)),
      h("input", { id: v, value: tag.Value, oninput: (e) => { tag.Value = e.target.value; } })];
  }, 50);
  fields.tags = h("fieldset", { class: "field" }, h("legend", {}, t("wizard.tags")), tagList, tagAdd,
    h("p", { class: "field-error", hidden: true }));
  fields.tags.control = tagAdd;
  fields.tags.error = fields.tags.querySelector(".field-error");
  const forceId = uid("force");
  fields.force = h("div", { class: "field check" },
    h("input", { type: "checkbox", id: forceId, checked: draft.force, "aria-describedby": `${forceId}-hint`,
      onchange: (e) => { draft.force = e.target.checked; } }),
    h("label", { for: forceId }, t("wizard.force")),
    h("p", { class: "hint", id: `${forceId}-hint` }, t("wizard.force-hint")));
  fields.force.control = fields.force.querySelector("input");
  fields.force.error = h("p", { class: "field-error", hidden: true });
  fields.force.append(fields.force.error);

  const problem = h("div", { class: "alert", role: "alert", tabindex: "-1", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, t("wizard.submit"));
  const form = h("form", { novalidate: true, class: "card" },
    fields.region, fields.name, h("div", { class: "row" }, fields.osType, fields.osVersion, fields.arch),
    fields.bootMode, fields.license, fields.url, fields.description, fields.disks, fields.tags, fields.force,
    problem, h("div", { class: "actions" }, submit,
      h("a", { class: "button", href: "#/import" }, t("wizard.back"))));

  const showError = (name, text) => {
    const f = fields[name];
    f.error.textContent = text || "";
    f.error.hidden = !text;
    if (f.control && f.control.tagName !== "BUTTON") {
      if (text) f.control.setAttribute("aria-invalid", "true");
      else f.control.removeAttribute("aria-invalid");
    }
  };

  // The API's own rules (docs/api.md, ImportImage), checked before anything is sent.
  const validate = () => {
    const errors = {};
    const name = draft.name.trim();
    if (!name) errors.name = t("form.required");
    else if (characters(name) > 60) errors.name = t("form.too-long", 60, characters(name));
    if (characters(draft.description) > 256) errors.description = t("form.too-long", 256, characters(draft.description));
    const url = draft.url.trim();
    if (!url) errors.url = t("form.required");
    else if (!isHttpUrl(url)) errors.url = t("wizard.url-invalid");
    else if (/\.iso$/i.test(url.split("?")[0]) && !draft.force) errors.url = t("wizard.iso-force");
    if (draft.disks.some((d) => !isHttpUrl(d.trim()))) errors.disks = t("wizard.disk-invalid");
    if (draft.tags.some((tag) => !tag.Key.trim())) errors.tags = t("wizard.tag-key-missing");
    return errors;
  };

  const request = (dryRun) => {
    const p = {
      ImageName: draft.name.trim(), OsType: draft.osType, OsVersion: draft.osVersion, Architecture: draft.arch,
      ImageUrl: draft.url.trim(), BootMode: draft.bootMode, LicenseType: draft.license, Force: draft.force,
      DryRun: dryRun,
    };
    if (draft.description) p.ImageDescription = draft.description;
    if (draft.disks.length) p.ImportImageDataDiskList = draft.disks.map((d) => ({ ImageUrl: d.trim() }));
    if (draft.tags.length) {
      p.TagSpecification = [{ ResourceType: "image", Tags: draft.tags.map((tag) => ({ Key: tag.Key.trim(), Value: tag.Value })) }];
    }
    return p;
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const name of Object.keys(fields)) showError(name, "");
    problem.hidden = true;
    const errors = validate();
    const names = Object.keys(errors);
    for (const name of names) showError(name, errors[name]);
    if (names.length) {
      fields[names[0]].control.focus();
      ctx.announce(t("form.fix-errors"));
      return;
    }
    submit.disabled = true;
    submit.textContent = t("wizard.submitting");
    try {
      // DryRun first: every synchronous refusal arrives before anything is created.
      try {
        await ctx.call("ImportImage", request(true), draft.region);
      } catch (err) {
        if (err.code !== "DryRunOperation") throw err;
      }
      const r = await ctx.call("ImportImage", request(false), draft.region);
      noticeForImages(t("wizard.started", draft.name.trim(), r.ImageId));
      Object.assign(draft, { name: "", url: "", description: "", disks: [], tags: [], force: false });
      ctx.go("#/images");
    } catch (err) {
      const where = err && err.code ? fieldOfError(err.code, err.message) : null;
      if (where && fields[where]) {
        showError(where, errorText(err));
        fields[where].control.focus();
      } else {
        problem.textContent = errorText(err);
        problem.hidden = false;
        problem.focus();
      }
      ctx.announce(errorText(err));
    } finally {
      submit.disabled = false;
      submit.textContent = t("wizard.submit");
    }
  });

  replace(main,
    h("h1", { tabindex: "-1" }, t("wizard.title")),
    h("p", { class: "breadcrumb" }, t("wizard.breadcrumb")),
    steps(2), form);
}

export async function renderImport(ctx, main, hash) {
  if (hash.startsWith("#/import/2")) return stepTwo(ctx, main);
  return stepOne(ctx, main);
}

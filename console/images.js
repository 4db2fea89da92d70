// Images → Custom images: the account's images with their states, progress while importing, and
// for a failed import its error code, cause (in the account's language, as the API renders it)
// and what to do. Filter by name, paging, refresh while something imports, rename, delete, and
// sharing when the server has it.

import { h, replace, field, setFieldError, dialog, characters, errorText } from "./dom.js";
import { t, rt, formatTime, formatBytes, formatDuration } from "./i18n.js";

const REFRESH_MS = 3000;
const state = { offset: 0, limit: 10, name: "", notice: null };

// Shows a notice above the list on its next rendering (after an import was started, say).
export function noticeForImages(text) {
  state.notice = text;
}

function isWindows(image) {
  return String(image.OsName || image.Platform || "").startsWith("Windows");
}

// What to do about a failed import: the advice `imagegate check` gives where one code has one
// piece of advice, else the console's own sentence for the code.
export function adviceFor(image) {
  switch (image.ImportErrorCode) {
    case "VirtioNotInstall": return rt(isWindows(image) ? "advice.win-virtio" : "advice.virtio");
    case "CloudInitNotInstalled": return rt(isWindows(image) ? "advice.cloudbase-init" : "advice.cloud-init");
    case "RootPartitionNotFound": return rt("advice.root");
    default: return t(`advice.${image.ImportErrorCode}`);
  }
}

function stateCell(image) {
  const label = h("span", { class: `state state-${String(image.ImageState).toLowerCase()}` },
    t(`state.${image.ImageState}`));
  if (image.ImageState !== "IMPORTING") return label;
  const percent = Number(image.ImportProgress || 0);
  return [label, " ", h("progress", { max: "100", value: String(percent),
    "aria-label": t("images.progress-of", image.ImageName) }), " ", h("span", { class: "percent" }, `${percent} %`),
  progressDetail(image.ImportProgressDetail)];
}

// Once the worker has started: the disk in hand (when there are several), its bytes downloaded
// and converted, and the estimate of the time left (none until the worker has one).
function progressDetail(d) {
  if (!d || !(Number(d.Disk) > 0)) return "";
  const parts = [];
  if (Number(d.Disks) > 1) parts.push(t("images.detail-disk", d.Disk, d.Disks));
  parts.push(t("images.detail-fetched", formatBytes(d.FetchedBytes), Number(d.TotalBytes) > 0 ? formatBytes(d.TotalBytes) : "?"));
  if (Number(d.VirtualBytes) > 0) parts.push(t("images.detail-converted", formatBytes(d.ConvertedBytes), formatBytes(d.VirtualBytes)));
  if (d.SecondsLeft !== null && d.SecondsLeft !== undefined) parts.push(t("images.detail-left", formatDuration(d.SecondsLeft)));
  return h("div", { class: "progress-detail" }, parts.join(" · "));
}

function failureDetails(image) {
  return h("dl", { class: "failure" },
    h("dt", {}, t("images.error-code")), h("dd", {}, h("code", {}, image.ImportErrorCode), " — ",
      t(`code.${image.ImportErrorCode}`)),
    h("dt", {}, t("images.cause")), h("dd", { class: "cause" }, image.ImportErrorMessage),
    h("dt", {}, rt("report.advice")), h("dd", { class: "advice" }, adviceFor(image)));
}

async function rename(ctx, image) {
  const name = field(t("images.name"), h("input", { value: image.ImageName, required: true }), t("form.name-hint"));
  const description = field(t("wizard.description"), h("textarea", { rows: "3" }, image.ImageDescription || ""),
    t("form.description-hint"));
  return dialog({
    title: t("images.rename-title", image.ImageName), body: [name, description],
    submitLabel: t("action.save"), cancelLabel: t("action.cancel"),
    onSubmit: async () => {
      const n = name.control.value.trim();
      const d = description.control.value;
      const wrongName = !n ? t("form.required") : characters(n) > 60 ? t("form.too-long", 60, characters(n)) : "";
      const wrongDescription = characters(d) > 256 ? t("form.too-long", 256, characters(d)) : "";
      setFieldError(name, wrongName);
      setFieldError(description, wrongDescription);
      if (wrongName || wrongDescription) throw t("form.fix-errors");
      try {
        await ctx.call("ModifyImageAttribute", { ImageId: image.ImageId, ImageName: n, ImageDescription: d });
      } catch (e) {
        throw errorText(e);
      }
      return n;
    },
  });
}

async function remove(ctx, image) {
  return dialog({
    title: t("images.delete-title", image.ImageName),
    body: h("p", {}, t("images.delete-body", image.ImageName, image.ImageId)),
    submitLabel: t("action.delete"), cancelLabel: t("action.cancel"), danger: true,
    onSubmit: async () => {
      try {
        await ctx.call("DeleteImages", { ImageIds: [image.ImageId] });
      } catch (e) {
        throw errorText(e);
      }
      return true;
    },
  });
}

async function share(ctx, image) {
  const list = h("ul", { class: "shares" });
  const load = async () => {
    const r = await ctx.call("DescribeImageSharePermission", { ImageId: image.ImageId });
    const set = r.SharePermissionSet || [];
    replace(list, set.length === 0 ? h("li", {}, t("share.none")) : set.map((p) => h("li", {}, p.AccountId, " ",
      h("button", { type: "button", "aria-label": t("share.cancel-for", p.AccountId), onclick: async () => {
        await ctx.call("ModifyImageSharePermission", { ImageId: image.ImageId, AccountIds: [p.AccountId], Permission: "CANCEL" });
        await load();
      } }, t("share.cancel")))));
  };
  try {
    await load();
  } catch (e) {
    replace(list, h("li", { role: "alert" }, errorText(e)));
  }
  const accounts = field(t("share.accounts"), h("input", { spellcheck: "false" }), t("share.accounts-hint"));
  return dialog({
    title: t("share.title", image.ImageName), body: [h("h3", {}, t("share.current")), list, accounts],
    submitLabel: t("share.submit"), cancelLabel: t("action.close"),
    onSubmit: async () => {
      const ids = accounts.control.value.split(/[\s,]+/).filter(Boolean);
      setFieldError(accounts, ids.length ? "" : t("form.required"));
      if (!ids.length) throw t("form.fix-errors");
      try {
        await ctx.call("ModifyImageSharePermission", { ImageId: image.ImageId, AccountIds: ids, Permission: "SHARE" });
      } catch (e) {
        throw errorText(e);
      }
      return true;
    },
  });
}

export async function renderImages(ctx, main) {
  const heading = h("h1", { tabindex: "-1" }, t("nav.images"));
  const notice = h("div", { class: "notice", role: "status" });
  const problem = h("div", { class: "alert", role: "alert", hidden: true });
  const body = h("div", { class: "list" });
  const search = h("input", { type: "search", value: state.name, id: "image-filter" });
  const searchForm = h("form", { role: "search", class: "inline", "aria-label": t("images.filter") },
    h("label", { for: "image-filter" }, t("images.filter")), search,
    h("button", { type: "submit" }, t("action.search")));
  searchForm.addEventListener("submit", (e) => {
    e.preventDefault();
    state.name = search.value.trim();
    state.offset = 0;
    load();
  });
  const quota = h("p", { class: "hint" });
  const toolbar = h("div", { class: "toolbar" },
    h("a", { class: "button primary", href: "#/import" }, t("images.import")),
    searchForm,
    h("button", { type: "button", onclick: () => load(true) }, t("action.refresh")));
  replace(main, heading, h("p", { class: "breadcrumb" }, t("images.breadcrumb")), quota, toolbar, notice, problem, body);
  if (state.notice) {
    notice.textContent = state.notice;
    state.notice = null;
  }
  ctx.call("DescribeImageQuota", {}).then((r) => { quota.textContent = t("images.quota", r.ImageNumQuota); }, () => {});

  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));

  async function act(fn, image, done) {
    const result = await fn(ctx, image);
    if (result) {
      notice.textContent = done;
      await load();
    }
  }

  function row(image) {
    const mine = image.ImageType !== "SHARED_IMAGE";
    const key = image.ImageId;
    const actions = h("div", { class: "row-actions" },
      mine && h("button", { type: "button", "data-focus": `${key}-rename`, "aria-label": t("images.rename-of", image.ImageName),
        onclick: () => act(rename, image, t("images.renamed", image.ImageName)) }, t("action.rename")),
      mine && ctx.features.sharing && image.ImageState === "NORMAL" && h("button", { type: "button",
        "data-focus": `${key}-share`, "aria-label": t("share.of", image.ImageName),
        onclick: () => act(share, image, t("share.done", image.ImageName)) }, t("action.share")),
      mine && h("button", { type: "button", class: "danger", "data-focus": `${key}-delete`,
        "aria-label": t("images.delete-of", image.ImageName),
        onclick: () => act(remove, image, t("images.deleted", image.ImageName)) }, t("action.delete")));
    const rows = [h("tr", { "data-image": image.ImageId },
      h("th", { scope: "row", "data-label": t("images.name") }, image.ImageName,
        image.ImageType === "SHARED_IMAGE" ? h("span", { class: "tag" }, t("images.shared")) : null,
        image.ImageDescription ? h("span", { class: "description" }, image.ImageDescription) : null),
      h("td", { "data-label": t("images.id") }, h("code", {}, image.ImageId)),
      h("td", { "data-label": t("images.state"), class: "state-cell" }, stateCell(image)),
      h("td", { "data-label": t("images.os") }, image.OsName),
      h("td", { "data-label": t("images.arch") }, image.Architecture),
      h("td", { "data-label": t("images.size") }, image.ImageState === "NORMAL" ? `${image.ImageSize} GiB` : "—"),
      h("td", { "data-label": t("images.created") }, formatTime(image.CreatedTime)),
      h("td", { "data-label": t("images.actions") }, actions))];
    if (image.ImageState === "IMPORTFAILED") {
      rows.push(h("tr", { class: "failure-row", "data-failure": image.ImageId },
        h("td", { colspan: "8" }, failureDetails(image))));
    }
    return rows;
  }

  async function load(announce) {
    clearTimeout(timer);
    const params = { Offset: state.offset, Limit: state.limit };
    if (state.name) params.Filters = [{ Name: "image-name", Values: [state.name] }];
    let r;
    try {
      r = await ctx.call("DescribeImages", params);
      problem.hidden = true;
    } catch (e) {
      problem.textContent = errorText(e);
      problem.hidden = false;
      return;
    }
    const images = r.ImageSet || [];
    const total = r.TotalCount || 0;
    if (images.length === 0 && state.offset > 0 && total > 0) {
      state.offset = Math.max(0, Math.floor((total - 1) / state.limit) * state.limit);
      return load(announce);
    }
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focus : null;
    const columns = ["images.name", "images.id", "images.state", "images.os", "images.arch", "images.size",
      "images.created", "images.actions"];
    const table = images.length === 0
      ? h("p", { class: "empty" }, state.name ? t("images.none-matching", state.name) : t("images.none"))
      : h("table", { class: "images" }, h("caption", { class: "visually-hidden" }, t("images.caption")),
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, t(c))))),
        h("tbody", {}, images.map(row)));
    const pages = Math.max(1, Math.ceil(total / state.limit));
    const page = Math.floor(state.offset / state.limit) + 1;
    const pager = h("nav", { class: "pager", "aria-label": t("pager.label") },
      h("button", { type: "button", "data-focus": "prev", disabled: page <= 1,
        onclick: () => { state.offset -= state.limit; load(); } }, t("pager.previous")),
      h("span", {}, t("pager.page", page, pages, total)),
      h("button", { type: "button", "data-focus": "next", disabled: page >= pages,
        onclick: () => { state.offset += state.limit; load(); } }, t("pager.next")),
      h("label", { for: "page-size" }, t("pager.size")),
      h("select", { id: "page-size", "data-focus": "size", onchange: (e) => {
        state.limit = Number(e.target.value);
        state.offset = 0;
        load();
      } }, [10, 20, 50, 100].map((n) => h("option", { value: String(n), selected: n === state.limit }, String(n)))));
    replace(body, table, pager);
    if (focused) {
      const again = body.querySelector(`[data-focus="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    const importing = images.some((i) => i.ImageState === "IMPORTING");
    if (importing) timer = setTimeout(load, REFRESH_MS);
    // A finished import has left a message: the unread count follows the list.
    ctx.refreshUnread();
    if (announce) ctx.announce(t("images.refreshed", total));
  }
  await load();
}

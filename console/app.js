// The console's shell: sign-in, the header (navigation, language, account, sign-out), and a
// router over the location hash. Each page is a module that renders into <main>.

import * as api from "./api.js";
import { h, replace, field, setFieldError, errorText } from "./dom.js";
import { LANGUAGES, language, preferredLanguage, setLanguage, t } from "./i18n.js";
import { renderImages } from "./images.js";
import { renderImport } from "./wizard.js";
import { renderMessages, renderSubscriptions } from "./messages.js";

const REGIONS = [
  "ap-guangzhou", "ap-shanghai", "ap-nanjing", "ap-beijing", "ap-chengdu", "ap-chongqing", "ap-hongkong",
  "ap-singapore", "ap-jakarta", "ap-seoul", "ap-tokyo", "ap-bangkok", "na-siliconvalley", "na-ashburn",
  "sa-saopaulo", "eu-frankfurt", "ap-shanghai-fsi", "ap-shenzhen-fsi", "ap-beijing-fsi",
];

const PAGES = {
  images: { title: "nav.images", render: renderImages },
  import: { title: "wizard.title", render: renderImport, nav: "images" },
  messages: { title: "nav.messages", render: renderMessages },
  subscriptions: { title: "nav.subscriptions", render: renderSubscriptions },
};

const main = document.getElementById("main");
const top = document.getElementById("top");
const status = document.getElementById("status");

// What every page gets: the signed caller, the shared state, and ways to move and to speak.
const ctx = {
  credentials: null,
  features: { sharing: false },
  osList: null,
  regions: REGIONS,
  leaving: [],
  unread: 0,
  call(action, params, region) {
    return api.call(ctx.credentials, action, params, region);
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  announce(text) {
    status.textContent = "";
    setTimeout(() => { status.textContent = text; }, 50);
  },
  // Runs when the page is left: pages stop their timers here.
  onLeave(fn) {
    ctx.leaving.push(fn);
  },
  async refreshUnread() {
    try {
      const r = await ctx.call("DescribeMessages", { UnreadOnly: true, Limit: 1 });
      ctx.unread = r.UnreadCount || 0;
    } catch {
      return;
    }
    const badge = document.getElementById("unread");
    if (badge) {
      badge.textContent = ctx.unread > 0 ? String(ctx.unread) : "";
      badge.hidden = ctx.unread === 0;
      badge.setAttribute("aria-label", t("nav.unread", ctx.unread));
    }
  },
};

function languagePicker() {
  const select = h("select", { id: "language", onchange: async (e) => {
    await setLanguage(e.target.value);
    route();
    ctx.announce(t("app.language-changed", language().name));
  } }, LANGUAGES.map((l) => h("option", { value: l.code, selected: l.code === language().code, lang: l.locale }, l.name)));
  return h("div", { class: "language" }, h("label", { for: "language" }, t("app.language")), select);
}

function renderHeader(page) {
  const brand = h("p", { class: "brand" }, t("app.name"));
  if (!ctx.credentials) {
    replace(top, brand, languagePicker());
    return;
  }
  const current = (PAGES[page] && PAGES[page].nav) || page;
  const link = (name, label, extra) => h("li", {}, h("a", { href: `#/${name}`, "aria-current": current === name ? "page" : null },
    label, extra));
  const unread = h("span", { id: "unread", class: "badge", hidden: ctx.unread === 0,
    "aria-label": t("nav.unread", ctx.unread) }, ctx.unread > 0 ? String(ctx.unread) : "");
  const nav = h("nav", { "aria-label": t("nav.label") }, h("ul", {},
    link("images", t("nav.images")), link("messages", t("nav.messages"), unread), link("subscriptions", t("nav.subscriptions"))));
  const account = h("p", { class: "account" }, h("span", { class: "visually-hidden" }, t("app.signed-in-as")),
    ctx.credentials.secretId.slice(0, 12) + "…", " · ", ctx.credentials.region);
  const out = h("button", { type: "button", onclick: signOut }, t("app.sign-out"));
  replace(top, brand, nav, h("div", { class: "tools" }, languagePicker(), account, out));
}

function signOut() {
  api.clearCredentials();
  ctx.credentials = null;
  ctx.unread = 0;
  ctx.osList = null;
  location.hash = "#/signin";
  route();
  ctx.announce(t("signin.signed-out"));
}

function renderSignIn() {
  document.title = `${t("signin.title")} · ${t("app.name")}`;
  const id = field(t("signin.secret-id"), h("input", { name: "secretId", autocomplete: "username", required: true,
    spellcheck: "false", autocapitalize: "off" }));
  const key = field(t("signin.secret-key"), h("input", { name: "secretKey", type: "password",
    autocomplete: "current-password", required: true }), t("signin.key-hint"));
  const region = field(t("signin.region"), h("select", { name: "region" },
    REGIONS.map((r) => h("option", { value: r, selected: r === "ap-guangzhou" }, r))), t("signin.region-hint"));
  const problem = h("div", { class: "alert", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, t("signin.submit"));
  const form = h("form", { class: "card narrow", novalidate: true }, id, key, region, problem, submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    setFieldError(id, id.control.value.trim() ? "" : t("form.required"));
    setFieldError(key, key.control.value ? "" : t("form.required"));
    if (!id.control.value.trim()) return id.control.focus();
    if (!key.control.value) return key.control.focus();
    const credentials = { secretId: id.control.value.trim(), secretKey: key.control.value, region: region.control.value };
    submit.disabled = true;
    problem.hidden = true;
    try {
      // A read-only call proves the key; the answer is the quota the list shows.
      await api.call(credentials, "DescribeImageQuota", {});
      api.saveCredentials(credentials);
      ctx.credentials = credentials;
      await detectFeatures();
      ctx.announce(t("signin.signed-in"));
      ctx.go("#/images");
    } catch (err) {
      replace(problem, h("strong", {}, t("signin.failed")), " ", errorText(err));
      problem.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  const intro = h("p", {}, t("signin.intro"));
  const warning = api.canSign() ? null : h("div", { class: "alert", role: "alert" }, t("signin.insecure"));
  replace(main, h("h1", { tabindex: "-1" }, t("signin.title")), intro, warning, form);
}

// Sharing is offered only when the server has its actions: an InvalidAction answer hides it.
async function detectFeatures() {
  try {
    await ctx.call("DescribeImageSharePermission", {});
    ctx.features.sharing = true;
  } catch (e) {
    ctx.features.sharing = !(e instanceof api.ApiError) || (e.code !== "InvalidAction" && e.code !== "Network");
  }
}

async function route() {
  for (const fn of ctx.leaving.splice(0)) fn();
  const page = (location.hash.replace(/^#\/?/, "").split("/")[0]) || "images";
  if (!ctx.credentials) {
    renderHeader("signin");
    renderSignIn();
    main.querySelector("h1").focus();
    return;
  }
  const p = PAGES[page] ? page : "images";
  renderHeader(p);
  document.title = `${t(PAGES[p].title)} · ${t("app.name")}`;
  replace(main, h("p", { class: "loading" }, t("app.loading")));
  try {
    await PAGES[p].render(ctx, main, location.hash);
  } catch (e) {
    replace(main, h("h1", { tabindex: "-1" }, t(PAGES[p].title)), h("div", { class: "alert", role: "alert" }, errorText(e)));
  }
  const heading = main.querySelector("h1");
  if (heading) heading.focus();
  ctx.refreshUnread();
}

async function start() {
  await setLanguage(preferredLanguage());
  document.getElementById("skip").addEventListener("click", (e) => {
    e.preventDefault();
    main.focus();
  });
  ctx.credentials = api.loadCredentials();
  if (ctx.credentials) await detectFeatures();
  window.addEventListener("hashchange", route);
  await route();
}

start();

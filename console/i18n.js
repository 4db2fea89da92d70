// The console's languages: its own sentences from lang/<code>.json, and the sentences it shares
// with `imagegate check` (check titles, advice) from lang/rules.<code>.json, which the server
// renders from the one table of rules/messages.cc. A key missing in a language falls back to
// English, then to the key itself, so a gap shows as a visible key, never as an empty label.

export const LANGUAGES = [
  { code: "en", name: "English", locale: "en-US" },
  { code: "zh", name: "中文（简体）", locale: "zh-CN" },
  { code: "ja", name: "日本語", locale: "ja-JP" },
  { code: "id", name: "Bahasa Indonesia", locale: "id-ID" },
  { code: "pt", name: "Português (Brasil)", locale: "pt-BR" },
];

const STORE = "imagegate.language";
let current = LANGUAGES[0];
let own = {};
let shared = {};
let english = {};

async function json(url) {
  const r = await fetch(url, { cache: "no-cache" });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

function fill(text, args) {
  return text.replace(/\{(\d+)\}/g, (m, i) => (args[Number(i)] === undefined ? m : String(args[Number(i)])));
}

// The language to start in: the one chosen before in this browser, else the browser's own.
export function preferredLanguage() {
  const saved = localStorage.getItem(STORE);
  if (LANGUAGES.some((l) => l.code === saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.some((l) => l.code === base)) return base;
  }
  return "en";
}

export async function setLanguage(code) {
  const lang = LANGUAGES.find((l) => l.code === code) || LANGUAGES[0];
  if (!english.app) english = await json("lang/en.json");
  [own, shared] = await Promise.all([
    lang.code === "en" ? english : json(`lang/${lang.code}.json`),
    json(`lang/rules.${lang.code}.json`),
  ]);
  current = lang;
  localStorage.setItem(STORE, lang.code);
  document.documentElement.lang = lang.locale;
}

export function language() {
  return current;
}

// A sentence of the console: t("images.title"), t("images.page", 2, 5).
export function t(key, ...args) {
  return fill(own[key] ?? english[key] ?? key, args);
}

// A sentence shared with `imagegate check`: rt("title.virtio").
export function rt(id, ...args) {
  return fill(shared[id] ?? id, args);
}

export function formatTime(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return iso || "";
  return new Intl.DateTimeFormat(current.locale, { dateStyle: "medium", timeStyle: "short" }).format(d);
}

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

// Bytes in binary units, as the API and `imagegate check` give sizes: "812.5 MiB", "1.2 GiB".
export function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(n) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : 1;
  return `${new Intl.NumberFormat(current.locale, { maximumFractionDigits: digits, minimumFractionDigits: digits })
    .format(value)} ${units[unit]}`;
}

// A duration in the page's language, to the minute past two minutes: "45 sec", "3 min", "1 hr".
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const [value, unit] = s < 120 ? [s, "second"] : s < 7200 ? [Math.round(s / 60), "minute"] : [Math.round(s / 3600), "hour"];
  return new Intl.NumberFormat(current.locale, { style: "unit", unit, unitDisplay: "short" }).format(value);
}

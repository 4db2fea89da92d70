// Small DOM helpers. Text from the API (image names, causes, messages) only ever enters the page
// as text nodes: no HTML is built from strings, so nothing an account typed can run as script.

import { ApiError } from "./api.js";
import { t } from "./i18n.js";

// An API error as the console shows it: the API's own code and message.
export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.code === "Network") return t("error.network", e.message);
    return `${e.code}: ${e.message}`;
  }
  return String(e && e.message ? e.message : e);
}

// h("button", {type: "button", onclick: f}, "Delete") — attributes, event handlers (on…), and
// children: strings, nodes, arrays, or null/false (skipped).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "value") el.value = value;
    else if (name === "checked" || name === "selected" || name === "disabled") el[name] = Boolean(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

// A labelled form field: the control, its label, an optional hint, and a place for its error,
// tied together with aria-describedby so a screen reader reads all three.
export function field(label, control, hint) {
  const id = control.id || uid("f");
  control.id = id;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  control.setAttribute("aria-describedby", [hintEl && hintEl.id, error.id].filter(Boolean).join(" "));
  const wrapper = h("div", { class: "field" }, h("label", { for: id }, label), hintEl, control, error);
  wrapper.control = control;
  wrapper.error = error;
  return wrapper;
}

// Shows (or, with an empty text, clears) the error beside a field made by field().
export function setFieldError(wrapper, text) {
  wrapper.error.textContent = text || "";
  wrapper.error.hidden = !text;
  if (text) wrapper.control.setAttribute("aria-invalid", "true");
  else wrapper.control.removeAttribute("aria-invalid");
}

// A modal dialog (the <dialog> element: focus is trapped inside and Escape closes it). Resolves
// with the value `onSubmit` returns, or null when cancelled. onSubmit may throw a string to keep
// the dialog open with that text shown.
export function dialog({ title, body, submitLabel, cancelLabel, danger = false, onSubmit }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const problem = h("p", { class: "alert", role: "alert", hidden: true });
    const submit = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submitLabel);
    const cancel = h("button", { type: "button" }, cancelLabel);
    const form = h("form", { method: "dialog" }, h("h2", { id: titleId }, title), body, problem,
      h("div", { class: "actions" }, submit, cancel));
    const dlg = h("dialog", { "aria-labelledby": titleId }, form);
    let result = null;
    cancel.addEventListener("click", () => dlg.close());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        result = onSubmit ? await onSubmit() : true;
        dlg.close();
      } catch (err) {
        problem.textContent = String(err && err.message ? err.message : err);
        problem.hidden = false;
      } finally {
        submit.disabled = false;
      }
    });
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// The number of characters as the API counts them (code points, not UTF-16 units or bytes).
export function characters(s) {
  return [...s].length;
}

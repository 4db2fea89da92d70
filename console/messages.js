// The message center (every finished import leaves one message, in the account's language) and
// the subscriptions that also send each message by e-mail or to a webhook, with a test delivery.

import { h, replace, field, setFieldError, dialog, errorText, uid } from "./dom.js";
import { t, formatTime } from "./i18n.js";

const state = { offset: 0, limit: 10, unreadOnly: false };

function deliveries(m) {
  if (!m.Deliveries || m.Deliveries.length === 0) return null;
  return h("ul", { class: "deliveries", "aria-label": t("messages.deliveries") },
    m.Deliveries.map((d) => h("li", {}, `${t(`channel.${d.Channel}`)} ${d.Endpoint}: `,
      h("span", { class: `delivery delivery-${String(d.State).toLowerCase()}` }, t(`delivery.${d.State}`)),
      d.State !== "SENT" && d.LastError ? ` (${t("messages.attempts", d.Attempts)}: ${d.LastError})` : null)));
}

export async function renderMessages(ctx, main) {
  const notice = h("div", { class: "notice", role: "status" });
  const problem = h("div", { class: "alert", role: "alert", hidden: true });
  const summary = h("p", { class: "summary" });
  const body = h("div", { class: "list" });
  const filterId = uid("unread-only");
  const filter = h("div", { class: "field check" },
    h("input", { type: "checkbox", id: filterId, checked: state.unreadOnly, onchange: (e) => {
      state.unreadOnly = e.target.checked;
      state.offset = 0;
      load();
    } }), h("label", { for: filterId }, t("messages.unread-only")));
  const selected = () => [...body.querySelectorAll("input[data-message]:checked")].map((c) => c.dataset.message);
  const bulk = async (action, done) => {
    const ids = selected();
    if (!ids.length) {
      notice.textContent = t("messages.select-first");
      return;
    }
    try {
      await ctx.call(action, { MessageIds: ids });
      notice.textContent = done(ids.length);
      problem.hidden = true;
    } catch (e) {
      problem.textContent = errorText(e);
      problem.hidden = false;
    }
    await load();
    await ctx.refreshUnread();
  };
  const markRead = h("button", { type: "button", onclick: () => bulk("MarkMessagesRead", (n) => t("messages.marked", n)) },
    t("messages.mark-read"));
  const remove = h("button", { type: "button", class: "danger", onclick: async () => {
    const n = selected().length;
    if (!n) {
      notice.textContent = t("messages.select-first");
      return;
    }
    const ok = await dialog({ title: t("messages.delete-title", n), body: h("p", {}, t("messages.delete-body")),
      submitLabel: t("action.delete"), cancelLabel: t("action.cancel"), danger: true });
    if (ok) await bulk("DeleteMessages", (k) => t("messages.deleted", k));
  } }, t("messages.delete"));
  replace(main, h("h1", { tabindex: "-1" }, t("nav.messages")), h("p", {}, t("messages.intro")), summary,
    h("div", { class: "toolbar" }, filter, markRead, remove,
      h("a", { class: "button", href: "#/subscriptions" }, t("messages.subscriptions"))),
    notice, problem, body);

  function article(m) {
    const check = uid("msg");
    return h("li", { class: m.Read ? "message read" : "message unread", "data-message-id": m.MessageId },
      h("div", { class: "message-head" },
        h("input", { type: "checkbox", id: check, "data-message": m.MessageId }),
        h("label", { for: check }, h("span", { class: "visually-hidden" }, t("messages.select"), " "),
          h("strong", { class: "message-title" }, m.Title)),
        m.Read ? null : h("span", { class: "tag unread-tag" }, t("messages.unread")),
        h("span", { class: `tag kind-${String(m.Kind).toLowerCase()}` }, t(`kind.${m.Kind}`))),
      h("p", { class: "meta" }, formatTime(m.CreatedTime), " · ", h("code", {}, m.ImageId),
        m.ErrorCode ? [" · ", h("code", {}, m.ErrorCode)] : null),
      h("p", { class: "content", lang: m.Language || null }, m.Content),
      deliveries(m));
  }

  async function load() {
    let r;
    try {
      r = await ctx.call("DescribeMessages", { UnreadOnly: state.unreadOnly, Offset: state.offset, Limit: state.limit });
    } catch (e) {
      problem.textContent = errorText(e);
      problem.hidden = false;
      return;
    }
    const total = r.TotalCount || 0;
    summary.textContent = t("messages.summary", total, r.UnreadCount || 0);
    const pages = Math.max(1, Math.ceil(total / state.limit));
    const page = Math.floor(state.offset / state.limit) + 1;
    const set = r.MessageSet || [];
    replace(body,
      set.length === 0 ? h("p", { class: "empty" }, t("messages.none")) : h("ul", { class: "messages" }, set.map(article)),
      h("nav", { class: "pager", "aria-label": t("pager.label") },
        h("button", { type: "button", disabled: page <= 1, onclick: () => { state.offset -= state.limit; load(); } },
          t("pager.previous")),
        h("span", {}, t("pager.page", page, pages, total)),
        h("button", { type: "button", disabled: page >= pages, onclick: () => { state.offset += state.limit; load(); } },
          t("pager.next"))));
  }
  await load();
}

export async function renderSubscriptions(ctx, main) {
  const notice = h("div", { class: "notice", role: "status" });
  const problem = h("div", { class: "alert", role: "alert", hidden: true });
  const body = h("div", { class: "list" });
  let channel = "EMAIL";
  const endpoint = field(t("subs.email"), h("input", { type: "email", spellcheck: "false", autocomplete: "email" }),
    t("subs.email-hint"));
  const secret = field(t("subs.secret"), h("input", { spellcheck: "false", autocomplete: "off" }), t("subs.secret-hint"));
  secret.hidden = true;
  const channelId = uid("channel");
  const channelRadio = (value) => {
    const id = uid("ch");
    return h("div", { class: "radio" }, h("input", { type: "radio", id, name: channelId, value, checked: value === channel,
      onchange: () => {
        channel = value;
        const label = endpoint.querySelector("label");
        label.textContent = t(value === "EMAIL" ? "subs.email" : "subs.webhook");
        endpoint.querySelector(".hint").textContent = t(value === "EMAIL" ? "subs.email-hint" : "subs.webhook-hint");
        endpoint.control.type = value === "EMAIL" ? "email" : "url";
        secret.hidden = value === "EMAIL";
      } }), h("label", { for: id }, t(`channel.${value}`)));
  };
  const created = h("div", { class: "notice", role: "status" });
  const form = h("form", { class: "card", novalidate: true },
    h("h2", {}, t("subs.add")),
    h("fieldset", { class: "field radios" }, h("legend", {}, t("subs.channel")), channelRadio("EMAIL"), channelRadio("WEBHOOK")),
    endpoint, secret, h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("subs.submit"))),
    created);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const value = endpoint.control.value.trim();
    const key = secret.control.value;
    let wrong = "";
    if (!value) wrong = t("form.required");
    else if (channel === "EMAIL" && !/^[^\s@<>]+@[^\s@<>]+$/.test(value)) wrong = t("subs.email-invalid");
    else if (channel === "WEBHOOK" && !/^https?:\/\/[^\s\/]\S*$/i.test(value)) wrong = t("subs.webhook-invalid");
    setFieldError(endpoint, wrong);
    const wrongSecret = channel === "WEBHOOK" && key && (key.length < 16 || key.length > 128) ? t("subs.secret-invalid") : "";
    setFieldError(secret, wrongSecret);
    if (wrong) return endpoint.control.focus();
    if (wrongSecret) return secret.control.focus();
    const params = { Channel: channel, Endpoint: value };
    if (channel === "WEBHOOK" && key) params.Secret = key;
    try {
      const r = await ctx.call("CreateMessageSubscription", params);
      endpoint.control.value = "";
      secret.control.value = "";
      replace(created, t("subs.created", value),
        r.Secret ? [" ", t("subs.secret-once"), " ", h("code", { class: "secret" }, r.Secret)] : null);
      await load();
    } catch (err) {
      setFieldError(endpoint, errorText(err));
      endpoint.control.focus();
    }
  });
  replace(main, h("h1", { tabindex: "-1" }, t("nav.subscriptions")), h("p", {}, t("subs.intro")), notice, problem, body, form);

  async function load() {
    let r;
    try {
      r = await ctx.call("DescribeMessageSubscriptions", {});
      problem.hidden = true;
    } catch (e) {
      problem.textContent = errorText(e);
      problem.hidden = false;
      return;
    }
    const set = r.SubscriptionSet || [];
    replace(body, set.length === 0 ? h("p", { class: "empty" }, t("subs.none")) : h("table", { class: "subscriptions" },
      h("caption", { class: "visually-hidden" }, t("subs.caption")),
      h("thead", {}, h("tr", {}, ["subs.channel", "subs.endpoint", "subs.created-time", "images.actions"].map((c) =>
        h("th", { scope: "col" }, t(c))))),
      h("tbody", {}, set.map((s) => h("tr", { "data-subscription": s.SubscriptionId },
        h("td", { "data-label": t("subs.channel") }, t(`channel.${s.Channel}`)),
        h("th", { scope: "row", "data-label": t("subs.endpoint") }, s.Endpoint),
        h("td", { "data-label": t("subs.created-time") }, formatTime(s.CreatedTime)),
        h("td", { "data-label": t("images.actions") }, h("div", { class: "row-actions" },
          h("button", { type: "button", "aria-label": t("subs.test-of", s.Endpoint), onclick: async (e) => {
            const button = e.currentTarget;
            button.disabled = true;
            notice.textContent = t("subs.testing", s.Endpoint);
            try {
              const res = await ctx.call("TestMessageSubscription", { SubscriptionId: s.SubscriptionId });
              notice.textContent = res.State === "SENT" ? t("subs.test-sent", s.Endpoint)
                : t("subs.test-failed", s.Endpoint, res.LastError);
            } catch (err) {
              notice.textContent = errorText(err);
            } finally {
              button.disabled = false;
            }
          } }, t("subs.test")),
          h("button", { type: "button", class: "danger", "aria-label": t("subs.delete-of", s.Endpoint), onclick: async () => {
            const ok = await dialog({ title: t("subs.delete-title", s.Endpoint), body: h("p", {}, t("subs.delete-body")),
              submitLabel: t("action.delete"), cancelLabel: t("action.cancel"), danger: true,
              onSubmit: async () => {
                try {
                  await ctx.call("DeleteMessageSubscription", { SubscriptionId: s.SubscriptionId });
                } catch (err) {
                  throw errorText(err);
                }
                return true;
              } });
            if (ok) {
              notice.textContent = t("subs.deleted", s.Endpoint);
              await load();
            }
          } }, t("action.delete")))))))));
  }
  await load();
}

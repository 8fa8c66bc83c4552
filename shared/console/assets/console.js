/* console.js: the Miping console's one script (Apache-2.0, no dependencies); pages work without it.
Load in <head> without defer, after console.css (it sets the theme before paint). Guide: shared/console/README.md.
form|a[data-hx]: fetch instead of navigating. data-hx-get|post="url": request on click (POST sends the form).
data-hx-target: sel|this|closest S|find S. data-hx-swap: innerHTML|outerHTML|beforeend|afterbegin|none.
data-hx-trigger: "every 2s" (poll; paused while hidden; 286 stops), "input delay:300ms", any event.
data-hx-confirm (+ -confirm-label): modal <dialog> first. data-busy-label. data-hx-reset. data-hx-oob (+id).
data-hx-sse="url" with data-hx-sse-swap="event" inside. data-theme-toggle, data-copy="#id",
time[data-relative], data-hotkey="j k", data-drop="#file-input", #toasts. Sends HX-Request, HX-Target, X-CSRF-Token (from
<meta name="csrf-token">), HX-Confirmed. Reads HX-Redirect, HX-Location, HX-Trigger {"toast": …}. */
(() => {
  "use strict";
  const d = document, html = d.documentElement, KEY = "miping-theme";
  const attr = (el, n) => el?.getAttribute?.("data-hx-" + n) ?? null;
  const all = (root, s) => [...(root.matches?.(s) ? [root] : []), ...root.querySelectorAll(s)];
  const wait = (ms, f) => setTimeout(f, ms);

  // Theme first, while <head> is parsed. No stored choice: keep what the server rendered.
  html.classList.add("js");
  const stored = () => { try { return localStorage.getItem(KEY); } catch { return null; } };
  function setTheme(t, save) {
    if (/^(light|dark)$/.test(t)) html.dataset.theme = t; else { t = "system"; delete html.dataset.theme; }
    if (save) {
      try { localStorage.setItem(KEY, t); } catch { /* private mode: the cookie remembers */ }
      d.cookie = `${KEY}=${t}; path=/; max-age=31536000; samesite=lax`;
    }
    for (const b of d.querySelectorAll("[data-theme-toggle]")) {
      b.dataset.themeToggle = t;
      b.setAttribute("aria-label", `Theme: ${t}. Change theme`);
    }
  }
  if (stored()) setTheme(stored());

  // ---- Requests
  const busy = new WeakSet(), stopped = new WeakSet(), bound = new WeakSet(), pollers = new Set(), sources = new Map();
  const find = (el, s) => !s || s === "this" ? el : s.startsWith("closest ") ? el.closest(s.slice(8))
    : s.startsWith("find ") ? el.querySelector(s.slice(5)) : d.querySelector(s);

  // el's request; sub: the submitter; bg: a background update (poll, trigger), without busy state.
  async function send(el, sub, bg) {
    if (busy.has(el) || stopped.has(el)) return;
    const isForm = el.tagName === "FORM", form = isForm ? el : el.closest("form"), get = (n) => attr(sub, n) || attr(el, n);
    const method = attr(el, "post") ? "POST" : attr(el, "get") || !isForm ? "GET" : (sub?.getAttribute("formmethod") || el.method).toUpperCase();
    let url = attr(el, "post") || attr(el, "get") || sub?.getAttribute("formaction") || (isForm ? el.action : el.href), body;
    const ask = get("confirm");
    if (!url || (ask && !(await confirmDialog(ask, get("confirm-label"))))) return;
    let data = isForm || (form && method !== "GET") ? new FormData(form, (isForm && sub) || undefined) : null;
    if (!isForm && el.name) (data ||= new FormData()).append(el.name, el.value);
    // A background request from inside a form (the reply box's suggestions) never carries its files.
    if (!isForm && data) for (const [k, v] of [...data]) if (v instanceof File) data.delete(k);
    if (method === "GET" && data) { const u = new URL(url, location.href); u.search = new URLSearchParams(data); url = u.href; }
    else if (data) body = form?.enctype === "multipart/form-data" ? data : new URLSearchParams(data);
    const target = find(el, get("target")), headers = { "HX-Request": "true" };
    if (target?.id) headers["HX-Target"] = target.id;
    if (method !== "GET") {
      headers["X-CSRF-Token"] = d.querySelector('meta[name="csrf-token"]')?.content ?? "";
      if (ask) headers["HX-Confirmed"] = "true";
    }
    const shown = isForm ? el : sub || el;
    busy.add(el);
    if (!bg) setBusy(shown, sub, true);
    let res;
    try {
      res = await fetch(url, { method, headers, body });
      if (res.status === 286) stopped.add(el);
      await answer(res, el, target, get("swap") || "innerHTML", bg, method);
      if (res.ok && isForm && el.hasAttribute("data-hx-reset")) el.reset();
    } catch (e) {
      if (res) throw e;
      toast("Network error: check your connection and try again.", "danger");
    } finally {
      busy.delete(el);
      if (!bg) setBusy(shown, sub, false);
    }
  }

  function setBusy(el, sub, on) {
    if (on) el.setAttribute("aria-busy", "true"); else el.removeAttribute("aria-busy");
    for (const b of el.tagName === "FORM" ? el.querySelectorAll("button:not([type=button]),input[type=submit]") : [el]) {
      if (on && !b.disabled) b.disabled = b.dataset.hxOff = 1; // only what we disabled is enabled again
      else if (!on && b.dataset.hxOff) { b.disabled = false; delete b.dataset.hxOff; }
    }
    const b = sub || (el.tagName === "BUTTON" && el);
    if (!b) return;
    b.classList.toggle("is-busy", on);
    if (on && b.dataset.busyLabel) [b.dataset.label, b.textContent] = [b.textContent, b.dataset.busyLabel];
    else if (!on && b.dataset.label) { b.textContent = b.dataset.label; delete b.dataset.label; }
  }

  async function answer(res, el, target, how, bg, method) {
    const h = (n) => res.headers.get(n) || "", go = h("HX-Redirect") || h("HX-Location");
    if (go) return location.assign(go);
    const text = await res.text();
    if (res.status >= 500 || (text && !/text\/html/.test(h("Content-Type")))) {
      if (!/"toast"/.test(h("HX-Trigger"))) toast(`Something went wrong (${res.status}). Please try again.`, "danger");
    } else if (/<html[\s>]/i.test(text)) {
      // A whole page (a redirect followed, the sign-in page after the session ended): load it.
      if (!bg) return method === "GET" || res.redirected ? location.assign(res.url) : location.reload();
    } else if (text && res.status !== 204) {
      const nodes = swap(target, text, how, { from: el, bg });
      if (nodes && !bg) {
        // After a person's own request: focus the first invalid field, else an [autofocus] one.
        const els = nodes.filter((n) => n.nodeType === 1);
        for (const q of ['[aria-invalid="true"]', "[autofocus]"]) { const f = els.flatMap((n) => all(n, q))[0]; if (f) { f.focus(); break; } }
      }
    }
    let o = h("HX-Trigger");
    try { o = JSON.parse(o || "{}"); } catch { o = { [o]: null }; }
    for (const [k, v] of Object.entries(o)) k === "toast" ? toast(v?.message ?? v, v?.kind) : d.dispatchEvent(new CustomEvent(k, { detail: v }));
  }

  // ---- Swapping
  const editable = (f) => /^(INPUT|TEXTAREA|SELECT)$/.test(f?.tagName);
  const dirty = (f) => f === d.activeElement || (/checkbox|radio/.test(f.type) ? f.checked !== f.defaultChecked
    : f.options ? [...f.options].some((o) => o.selected !== o.defaultSelected) : f.value !== f.defaultValue);

  // Swaps markup into target; returns the inserted nodes, or nothing when it skipped the swap.
  function swap(target, markup, how, opts = {}) {
    if (!target || how === "none") return;
    const tpl = d.createElement("template");
    tpl.innerHTML = markup;
    const frag = tpl.content, active = d.activeElement, source = opts.from?.closest("form");
    for (const n of frag.querySelectorAll("title,[data-hx-oob][id]")) {
      n.remove();
      const old = n.tagName === "TITLE" ? (d.title = n.textContent, null) : d.getElementById(n.id);
      if (old) { keepPlayers(old, n); old.replaceWith(n); process(n); }
    }
    keepPlayers(target, frag);
    // Keep the fields the person is using: the live node takes its incoming twin's place.
    let caret;
    if (/^(inner|outer)HTML$/.test(how)) {
      for (const live of all(target, "input,textarea,select")) {
        if (!(live.id || live.name) || !dirty(live) || (source && live.form === source)) continue;
        const twins = frag.querySelectorAll(live.id ? "#" + CSS.escape(live.id) : `[name="${CSS.escape(live.name)}"]`);
        if (twins.length !== 1) {
          if (live === active && opts.bg) return; // never drop what is being typed: skip this update
          continue;
        }
        if (live === active) caret = [live.selectionStart, live.selectionEnd, live.selectionDirection, live.scrollTop];
        twins[0].replaceWith(live);
      }
    }
    const nodes = [...frag.childNodes];
    if (how === "outerHTML") target.replaceWith(frag);
    else if (how === "beforeend") target.append(frag);
    else if (how === "afterbegin") target.prepend(frag);
    else target.replaceChildren(frag);
    if (caret && d.activeElement !== active) {
      active.focus({ preventScroll: true });
      if (caret[0] != null) active.setSelectionRange(caret[0], caret[1], caret[2]);
      active.scrollTop = caret[3];
    }
    nodes.forEach((n) => n.nodeType === 1 && process(n));
    for (const [el, src] of sources) if (!el.isConnected) { src.close(); sources.delete(el); }
    return nodes;
  }

  // A video or audio player (with an id) that comes back with the same src stays as it is: a poll
  // never restarts what is being watched or heard (moved within one task, it keeps playing).
  function keepPlayers(live, incoming) {
    for (const p of all(live, "video[id],audio[id]")) {
      const twin = incoming.querySelector?.("#" + CSS.escape(p.id));
      if (twin && twin.getAttribute("src") === p.getAttribute("src")) twin.replaceWith(p);
    }
  }

  // ---- Files dropped on [data-drop="#file-input"] (the inbox reply) go into that file input.
  const dropInput = (e) => {
    const z = e.target.closest?.("[data-drop]"), input = z && d.querySelector(z.dataset.drop);
    return input && [...(e.dataTransfer?.types || [])].includes("Files") ? [z, input] : [];
  };
  for (const type of ["dragenter", "dragover"]) {
    d.addEventListener(type, (e) => {
      const [z] = dropInput(e);
      if (!z) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      z.classList.add("is-dropping");
    });
  }
  d.addEventListener("dragleave", (e) => {
    const z = e.target.closest?.("[data-drop]");
    if (z && !z.contains(e.relatedTarget)) z.classList.remove("is-dropping");
  });
  d.addEventListener("drop", (e) => {
    const [z, input] = dropInput(e);
    if (!z) return;
    e.preventDefault();
    z.classList.remove("is-dropping");
    const one = new DataTransfer();
    one.items.add(e.dataTransfer.files[0]);
    input.files = one.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    toast(`${input.files[0].name} attached: press Send`, "info");
  });

  // ---- Triggers, polling, server-sent events
  const ms = (s) => { const m = /^([\d.]+)(ms|s)?$/.exec(s || ""); return m ? m[1] * (m[2] === "s" ? 1000 : 1) : 0; };

  function bind(el) {
    if (bound.has(el)) return;
    bound.add(el);
    for (const spec of attr(el, "trigger").split(",")) {
      const [ev, ...mods] = spec.trim().split(/\s+/), every = ms(mods[0]) || 2000;
      if (ev === "every") {
        pollers.add(el);
        const tick = async () => {
          if (!el.isConnected || stopped.has(el)) return pollers.delete(el);
          if (!d.hidden) await send(el, 0, 1).catch(() => {});
          wait(every, tick);
        };
        wait(every, tick);
      } else if (ev) {
        let timer;
        const delay = ms(mods.find((m) => m.startsWith("delay:"))?.slice(6));
        el.addEventListener(ev, () => { clearTimeout(timer); timer = wait(delay, () => send(el, 0, 1)); });
      }
    }
  }
  // Back on the tab: refresh at once instead of at the next tick.
  d.addEventListener("visibilitychange", () => { if (!d.hidden) pollers.forEach((el) => el.isConnected && send(el, 0, 1)); });

  function sse(el) {
    if (sources.has(el)) return;
    const src = new EventSource(attr(el, "sse"));
    sources.set(el, src);
    for (const name of new Set(all(el, "[data-hx-sse-swap]").map((t) => attr(t, "sse-swap")))) {
      src.addEventListener(name, (e) => {
        for (const t of el.querySelectorAll(`[data-hx-sse-swap="${CSS.escape(name)}"]`)) swap(t, e.data, attr(t, "swap") || "innerHTML", { bg: 1 });
      });
    }
    src.addEventListener("toast", (e) => toast(e.data, "info"));
  }

  // ---- Confirmation, toasts, copy, relative times, hotkeys
  function confirmDialog(message, label) {
    let dlg = d.getElementById("hx-confirm");
    if (!dlg) {
      dlg = Object.assign(d.createElement("dialog"), { id: "hx-confirm", className: "dialog" });
      dlg.setAttribute("aria-labelledby", "hx-confirm-text");
      dlg.innerHTML = '<form method="dialog"><p id="hx-confirm-text" class="dialog__body"></p><div class="dialog__actions">'
        + '<button value="" class="btn" autofocus>Cancel</button><button value="ok" class="btn btn--danger"></button></div></form>';
      d.body.append(dlg);
    }
    dlg.querySelector("p").textContent = message;
    dlg.querySelector('[value="ok"]').textContent = label || "Confirm";
    dlg.returnValue = "";
    dlg.showModal();
    return new Promise((ok) => dlg.addEventListener("close", () => ok(dlg.returnValue === "ok"), { once: true }));
  }

  function toast(message, kind = "success") {
    if (!message) return;
    const t = Object.assign(d.createElement("div"), { className: "toast toast--" + kind });
    t.append(Object.assign(d.createElement("p"), { textContent: message }));
    d.getElementById("toasts")?.append(t);
    armToast(t);
  }

  // Gives a toast its close button; success/info ones leave after 6 s, not while hovered or focused.
  function armToast(t) {
    if (t.dataset.armed) return;
    t.dataset.armed = 1;
    if (!t.querySelector(".toast__close")) t.insertAdjacentHTML("beforeend", '<button type="button" class="toast__close" aria-label="Dismiss">×</button>');
    const later = () => wait(6000, () => (t.matches(":hover,:focus-within") ? later() : t.remove()));
    if (!/toast--(danger|warning)/.test(t.className)) later();
  }

  async function copy(btn) {
    const src = d.querySelector(btn.dataset.copy);
    try {
      await navigator.clipboard.writeText(src.value ?? src.textContent.trim());
      btn.dataset.copied = "";
      wait(2000, () => delete btn.dataset.copied);
      toast("Copied to clipboard", "info");
    } catch {
      getSelection().selectAllChildren(src);
      toast("Press Ctrl+C to copy the selected text", "info");
    }
  }

  function relTimes(root) {
    const rtf = new Intl.RelativeTimeFormat(html.lang || undefined, { numeric: "auto" });
    for (const t of all(root, "time[data-relative]")) {
      const s = (Date.parse(t.dateTime) - Date.now()) / 1000, a = Math.abs(s);
      if (!(a < 604800)) continue; // a week or older (or unparsable): the server's exact time stays
      t.title ||= t.textContent.trim();
      const [n, unit] = a < 45 ? [0, "second"] : a < 2700 ? [s / 60, "minute"] : a < 79200 ? [s / 3600, "hour"] : [s / 86400, "day"];
      t.textContent = rtf.format(Math.round(n), unit);
    }
  }

  d.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || t.isContentEditable || editable(t) || d.querySelector("dialog[open]")) return;
    const el = [...d.querySelectorAll("[data-hotkey]")].find((x) => x.dataset.hotkey.split(" ").includes(e.key) && x.getClientRects().length);
    if (!el) return;
    e.preventDefault();
    editable(el) ? el.focus() : el.click();
  });

  // ---- Wiring
  const confirmed = new WeakSet();
  d.addEventListener("submit", async (e) => {
    const form = e.target, sub = e.submitter, ask = attr(sub, "confirm") || attr(form, "confirm");
    const hx = form.matches("[data-hx],[data-hx-get],[data-hx-post]");
    if (!hx && (!ask || confirmed.delete(form))) {
      // A plain post: disable its buttons once the browser has read the submitter's value.
      if (form.method === "post" && !form.target) wait(0, () => setBusy(form, sub, true));
      return;
    }
    e.preventDefault();
    if (hx) return send(form, sub);
    if (await confirmDialog(ask, attr(sub, "confirm-label") || attr(form, "confirm-label"))) {
      confirmed.add(form);
      form.requestSubmit(sub);
    }
  });

  d.addEventListener("click", (e) => {
    const el = e.target.closest("[data-copy],[data-theme-toggle],.toast__close,a[data-hx],:is([data-hx-get],[data-hx-post]):not(form,[data-hx-trigger])");
    if (!el || e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (el.matches(".toast__close")) el.closest(".toast").remove();
    else if (el.matches("[data-copy]")) copy(el);
    else if (el.matches("[data-theme-toggle]")) {
      const order = ["system", "light", "dark"];
      setTheme(order[(order.indexOf(el.dataset.themeToggle) + 1) % 3], true);
    } else send(el);
  });

  // Back from the browser cache: buttons disabled by a plain post work again.
  addEventListener("pageshow", (e) => { if (e.persisted) for (const f of d.forms) setBusy(f, 0, false); });

  function process(root) {
    all(root, "[data-hx-trigger]").forEach(bind);
    all(root, "[data-hx-sse]").forEach(sse);
    all(root, "#toasts .toast").forEach(armToast);
    for (const k of all(root, "[data-hotkey]")) k.setAttribute("aria-keyshortcuts", k.dataset.hotkey);
    relTimes(root);
    fromFragment(root);
  }

  // <input data-from-fragment="token">: filled from the URL's #token=… (an emailed link's secret
  // stays out of server logs), then the field is hidden (its [data-from-fragment-field] wrapper) and
  // the fragment removed from the address bar and history.
  function fromFragment(root) {
    const params = new URLSearchParams(location.hash.slice(1));
    for (const input of all(root, "input[data-from-fragment]")) {
      const v = params.get(input.dataset.fromFragment);
      if (!v) continue;
      input.value = v;
      const field = input.closest("[data-from-fragment-field]");
      if (field) field.hidden = true;
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  function init() {
    setTheme(stored() || html.dataset.theme);
    process(d.body);
    setInterval(() => relTimes(d.body), 30000);
  }
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", init); else init();
})();

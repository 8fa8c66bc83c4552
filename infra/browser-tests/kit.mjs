// The console kit in Chromium: serves shared/console/ (styleguide.html and assets/) with the
// console's CSP, plus fake /demo/* endpoints answering fragments as the console's handlers will,
// and drives the styleguide by role and label: fragment forms (CSRF header, busy button, toast,
// errors next to the field), the same form without JavaScript (full page), polling that keeps
// half-typed input and pauses in a hidden tab, the theme (persisted, applied before the body is
// parsed), the confirm dialog, "Load more" with relative times, server-sent events, the reply box,
// copy, hotkeys, the live template preview, network-failure toasts, axe-core in light and dark,
// and 360 px / desktop screenshots.
//
// Usage: node infra/browser-tests/kit.mjs   (no environment needed; BROWSER_TEST_ARTIFACTS optional)
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkA11y, scenario, screenshot, step, waitFor } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../shared/console");
const TOKEN = "styleguide-csrf-token";
// The console's policy: no inline script or style anywhere.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

// ---- The fake console server -----------------------------------------------------------------
const requests = []; // every /demo request: {method, path, headers, form}
const gates = {}; // name -> {promise, open()}: a handler waits on an armed gate until the test opens it
const sse = new Set();
let polls = 0, pollsInFlight = 0;

function arm(name) {
  let open;
  const promise = new Promise((r) => (open = r));
  gates[name] = { promise, open };
}
async function passGate(name) {
  const g = gates[name];
  if (g) { await g.promise; delete gates[name]; }
}
function release(name) { gates[name]?.open(); }
function pushEvent(name, data) {
  for (const res of sse) res.write(`event: ${name}\n${data.split("\n").map((l) => `data: ${l}`).join("\n")}\n\n`);
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// Header values are ASCII: JSON with \u escapes, as the console's handlers must send them.
const trigger = (o) => JSON.stringify(o).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

function contactForm({ name = "", phone = "", error = "", saved = "" } = {}) {
  const invalid = error ? ' aria-invalid="true" aria-describedby="contact-phone-hint contact-phone-error"' : ' aria-describedby="contact-phone-hint"';
  return `<form id="contact-form" class="card card__body" method="post" action="/demo/contact" data-hx data-hx-target="this" data-hx-swap="outerHTML">
  <input type="hidden" name="_csrf" value="${TOKEN}">
  ${saved ? `<div class="alert alert--success"><p>${esc(saved)}</p></div>` : ""}
  <div class="form-grid">
    <div class="field"><label for="contact-name">Name</label><input id="contact-name" name="name" autocomplete="off" value="${esc(name)}"></div>
    <div class="field"><label for="contact-phone">Phone number</label><input id="contact-phone" name="phone" inputmode="tel"${invalid} value="${esc(phone)}">
      <p class="field__hint" id="contact-phone-hint">With country code, e.g. +91 98765 43210</p>
      ${error ? `<p class="field__error" id="contact-phone-error">${esc(error)}</p>` : ""}</div>
  </div>
  <div class="field"><label for="contact-tags">Tags</label><select id="contact-tags" name="tag"><option value="">No tag</option><option>patients</option><option>vip</option></select></div>
  <label class="check field"><input type="checkbox" name="opted_in" value="1" checked> Agreed to receive WhatsApp messages</label>
  <div class="form-actions"><a class="btn" href="#forms">Cancel</a><button class="btn btn--primary" type="submit" data-busy-label="Saving…">Save contact</button></div>
</form>`;
}

function progress(n) {
  const sent = Math.min(500, n * 37);
  return `<div class="row row--between"><span>Sent <strong id="progress-count" class="num">${sent}</strong> of 500</span><span class="muted small">updates live</span></div>
<progress value="${sent}" max="500" aria-label="Campaign progress">${Math.round(sent / 5)}%</progress>
<form class="input-group" method="post" action="/demo/test-send" data-hx data-hx-target="#campaign-progress">
  <input type="hidden" name="_csrf" value="${TOKEN}">
  <label class="sr-only" for="test-phone">Send a test to</label>
  <input id="test-phone" name="phone" inputmode="tel" placeholder="Send a test to +91…">
  <button class="btn" type="submit">Send test</button>
</form>`;
}

function rows(cursor) {
  const at = new Date(Date.now() - 3 * 60_000);
  const exact = "6 Dec 2026, 10:27"; // what the server renders in the tenant's time zone
  const row = (to, badge) => `<tr><td><a href="#messages">${to}</a></td><td>payment_due</td><td><span class="badge badge--${badge}">${badge}</span></td>`
    + `<td><time datetime="${at.toISOString()}" data-relative>${exact}</time></td><td class="num">₹0.80</td></tr>`;
  const more = cursor === "c2"
    ? `<tr class="load-more"><td colspan="5"><a class="btn btn--sm" href="?cursor=c3" data-hx-get="/demo/rows?cursor=c3" data-hx-target="closest tr" data-hx-swap="outerHTML">Load more</a></td></tr>`
    : "";
  return row(`+91 90000 0000${cursor === "c2" ? 1 : 3}`, "sent") + row(`+91 90000 0000${cursor === "c2" ? 2 : 4}`, "queued") + more;
}

function preview(f) {
  const body = esc(f.body || "").replace(/\{\{(\d+)\}\}/g, (_, n) => {
    const v = f[`example_${n}`];
    return v ? `<span class="wa-var">${esc(v)}</span>` : `<span class="wa-var wa-var--missing">{{${n}}}</span>`;
  });
  return `<div class="wa-bubble">${f.header ? `<div class="wa-bubble__header">${esc(f.header)}</div>` : ""}<div class="wa-bubble__body">${body}</div>`
    + `<div class="wa-bubble__footer">${esc(f.footer || "")}<span class="wa-bubble__time">10:30</span></div></div><div class="wa-button">Yes</div><div class="wa-button">Reschedule</div>`;
}

const fullPage = (title, inner) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${TOKEN}"><title>${title} · Miping</title><link rel="stylesheet" href="/assets/console.css"><script src="/assets/console.js"></script></head>
<body><main id="main" class="main">${inner}</main><div id="toasts" class="toasts" role="status" aria-live="polite"></div></body></html>`;

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

const TYPES = { ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml" };

async function handle(req, res) {
  const url = new URL(req.url, "http://x");
  const hx = req.headers["hx-request"] === "true";
  const send = (status, body, headers = {}) => {
    res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", ...headers });
    res.end(body);
  };
  let form = {};
  if (url.pathname.startsWith("/demo/")) {
    form = req.method === "POST" ? await readForm(req) : Object.fromEntries(url.searchParams);
    requests.push({ method: req.method, path: url.pathname, headers: req.headers, form });
    // Every state change needs the CSRF token: the header from console.js, the field without JS.
    if (req.method === "POST" && (hx ? req.headers["x-csrf-token"] : form._csrf) !== TOKEN) return send(403, "<p>CSRF token missing</p>");
  }
  switch (`${req.method} ${url.pathname}`) {
    case "GET /favicon.ico": return send(204, "");
    case "GET /styleguide.html": {
      const page = await readFile(path.join(root, "styleguide.html"), "utf8");
      if (!url.searchParams.has("slow")) return send(200, page);
      // Half the page now, the rest when the test opens the gate: the test looks at the page while it is still loading.
      res.writeHead(200, { "Content-Type": TYPES[".html"], "Content-Security-Policy": CSP });
      const cut = page.indexOf("<main");
      res.write(page.slice(0, cut));
      await passGate("slow");
      return res.end(page.slice(cut));
    }
    case "POST /demo/contact": {
      await passGate("contact");
      const phoneOk = /^\+\d[\d ]{7,}$/.test(form.phone || "");
      if (!hx) return phoneOk ? send(303, "", { Location: "/demo/contacts/saved" }) : send(422, fullPage("New contact", contactForm({ ...form, error: "phone: must start with + and the country code" })));
      if (!phoneOk) return send(422, contactForm({ ...form, error: "phone: must start with + and the country code" }));
      return send(200, contactForm({ saved: `Saved ${form.name}.` }), { "HX-Trigger": trigger({ toast: `Contact “${form.name}” saved` }) });
    }
    case "GET /demo/contacts/saved":
      return send(200, fullPage("Contacts", `<div class="page-header"><div><h1>Contact saved</h1><p class="page-header__sub">The contact list shows it first.</p></div></div>`));
    case "GET /demo/progress":
      polls++;
      pollsInFlight++;
      res.on("close", () => pollsInFlight--);
      return send(200, progress(polls));
    case "POST /demo/test-send": return send(200, progress(polls), { "HX-Trigger": trigger({ toast: `Test sent to ${form.phone}` }) });
    case "GET /demo/rows": return send(200, rows(url.searchParams.get("cursor")));
    case "POST /demo/toast": return send(204, "", { "HX-Trigger": trigger({ toast: { message: "Settings saved", kind: "info" } }) });
    case "POST /demo/offline": return req.socket.destroy();
    case "POST /demo/templates/order_update/delete":
      return send(200, `<div class="card card__body" id="template-row"><p class="muted">The template “order_update” was deleted.</p></div>`, { "HX-Trigger": trigger({ toast: "Template “order_update” deleted" }) });
    case "POST /demo/campaigns/nov/cancel": return send(204, "", { "HX-Trigger": trigger({ toast: "Campaign cancelled" }) });
    case "POST /demo/preview": return send(200, preview(form));
    case "POST /demo/reply":
      return send(200, `<div class="msg msg--out"><p class="msg__body">${esc(form.text)}</p><div class="msg__meta">now <span class="ticks ticks--queued" role="img" aria-label="queued"></span></div></div>`);
    case "POST /demo/sign-out": return send(303, "", { Location: "/styleguide.html" });
    case "GET /demo/events":
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store" });
      res.write(": connected\n\n");
      sse.add(res);
      req.on("close", () => sse.delete(res));
      return;
  }
  const file = path.join(root, path.normalize(url.pathname));
  if (req.method !== "GET" || !file.startsWith(root + path.sep) || !TYPES[path.extname(file)]) return send(404, "not found");
  try {
    return send(200, await readFile(file), { "Content-Type": TYPES[path.extname(file)] });
  } catch {
    return send(404, "not found");
  }
}

const server = http.createServer((req, res) => handle(req, res).catch((e) => { console.error(e); res.destroy(); }));
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;
const demo = (p) => requests.filter((r) => r.path === p);

// ---- The scenario --------------------------------------------------------------------------------
await scenario("kit", async ({ newPage }) => {
  const page = await newPage({ baseURL: base, permissions: ["clipboard-read", "clipboard-write"] });
  await page.clock.install(); // timers run normally until a step pauses the clock to step through them
  await page.goto("/styleguide.html");
  await page.locator("html.js").waitFor();

  step("light theme: axe-core, desktop screenshot");
  await checkA11y(page, "styleguide, light");
  await screenshot(page, "desktop-light");

  step("form with JS: busy button, CSRF header, error next to the field, then swap and toast");
  const save = page.getByRole("button", { name: "Save contact" });
  await page.getByLabel("Name").first().fill("Asha Rao");
  await page.getByLabel("Phone number").first().fill("98765");
  arm("contact");
  await save.click();
  const busy = page.locator("#contact-form button[type=submit]");
  await waitFor(() => busy.isDisabled(), { message: "the submit button disabled during the request" });
  assert.equal(await busy.textContent(), "Saving…");
  assert.equal(await page.locator("#contact-form").getAttribute("aria-busy"), "true");
  release("contact");
  const phone = page.locator("#contact-phone");
  await page.getByText("phone: must start with + and the country code").waitFor();
  assert.equal(await phone.getAttribute("aria-invalid"), "true");
  assert.equal(await phone.inputValue(), "98765", "the form keeps what was typed");
  assert.ok(await phone.evaluate((el) => el === document.activeElement), "focus moves to the invalid field");
  let sent = demo("/demo/contact").at(-1);
  assert.equal(sent.headers["hx-request"], "true");
  assert.equal(sent.headers["x-csrf-token"], TOKEN);
  assert.equal(sent.form.name, "Asha Rao");
  await phone.fill("+91 98765 43210");
  await page.getByRole("button", { name: "Save contact" }).click();
  const toast = page.locator("#toasts[role=status] .toast", { hasText: "Contact “Asha Rao” saved" });
  await toast.waitFor();
  await page.getByText("Saved Asha Rao.").waitFor();
  assert.equal(await page.locator("#contact-name").inputValue(), "", "the fresh form from the server replaced the old one");
  assert.ok(await page.getByRole("button", { name: "Save contact" }).isEnabled());
  await toast.getByRole("button", { name: "Dismiss" }).click();
  await toast.waitFor({ state: "detached" });

  step("polling keeps a half-typed field (value, focus, caret) across swaps");
  await waitFor(() => polls >= 1, { message: "the first poll" });
  const testPhone = page.getByLabel("Send a test to");
  await testPhone.click();
  await page.keyboard.type("+91 987");
  for (let i = 0; i < 4; i++) await page.keyboard.press("ArrowLeft");
  const before = polls;
  await waitFor(() => polls >= before + 2, { message: "two more polls" });
  await waitFor(async () => Number(await page.locator("#progress-count").textContent()) >= (before + 1) * 37, { message: "the polled count shown" });
  assert.equal(await testPhone.inputValue(), "+91 987");
  const state = await testPhone.evaluate((el) => ({ focused: el === document.activeElement, caret: el.selectionStart }));
  assert.deepEqual(state, { focused: true, caret: 3 });
  await page.keyboard.type("X");
  assert.equal(await testPhone.inputValue(), "+91X 987", "typing continues at the caret");

  step("polling pauses while the tab is hidden and refreshes at once when it is back");
  // The page's clock is paused and stepped: three poll intervals pass without a request, and the
  // request on becoming visible starts inside the visibilitychange event itself.
  await page.clock.pauseAt(await page.evaluate(() => Date.now() + 1000));
  await page.evaluate(() => {
    window.fetches = [];
    const real = window.fetch;
    window.fetch = (url, init) => { window.fetches.push(String(url)); return real(url, init); };
  });
  const setHidden = (hidden) => page.evaluate((h) => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
    const before = window.fetches.length;
    document.dispatchEvent(new Event("visibilitychange"));
    return window.fetches.slice(before);
  }, hidden);
  assert.deepEqual(await setHidden(true), []);
  await page.clock.runFor(3500);
  assert.deepEqual(await page.evaluate(() => window.fetches), [], "no poll while hidden");
  // A poll started just before the pause must be finished — on the page, not only on the server:
  // the page still reads and swaps the answer after the server closed it — or the poll on becoming
  // visible is (rightly) skipped. So: wait for the server, then show the tab; while the page is
  // still busy with the old poll nothing starts, so hide it and show it again until one does.
  await waitFor(() => pollsInFlight === 0, { message: "no poll in flight" });
  let shown = [];
  await waitFor(async () => {
    shown = await setHidden(false);
    if (shown.length === 0) assert.deepEqual(await setHidden(true), [], "no poll on hiding");
    return shown.length > 0;
  }, { message: "a poll as soon as the tab is visible" });
  assert.deepEqual(shown, ["/demo/progress"], "exactly one poll as soon as the tab is visible");
  await page.clock.resume();

  step("theme toggle: system → light → dark, remembered, then applied before the body is parsed");
  const toggle = page.getByRole("button", { name: /^Theme: / });
  assert.equal(await toggle.getAttribute("aria-label"), "Theme: system. Change theme");
  await toggle.click();
  assert.equal(await page.locator("html").getAttribute("data-theme"), "light");
  await toggle.click();
  assert.equal(await page.locator("html").getAttribute("data-theme"), "dark");
  assert.equal(await page.evaluate(() => localStorage.getItem("miping-theme")), "dark");
  assert.match(await page.evaluate(() => document.cookie), /miping-theme=dark/);
  const darkBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(darkBg, "rgb(14, 17, 22)");
  await checkA11y(page, "styleguide, dark");
  await screenshot(page, "desktop-dark");
  arm("slow");
  await page.goto("/styleguide.html?slow=1", { waitUntil: "commit" });
  await page.waitForFunction(() => document.querySelector(".topbar"));
  const early = await page.evaluate(() => ({
    ready: document.readyState, theme: document.documentElement.dataset.theme,
    bg: getComputedStyle(document.body).backgroundColor, main: !!document.querySelector("main"),
  }));
  assert.deepEqual(early, { ready: "loading", theme: "dark", bg: darkBg, main: false }, "dark before the rest of the page arrives");
  release("slow");
  await page.locator("html.js").waitFor();
  await page.waitForLoadState("load");
  assert.equal(await toggle.getAttribute("aria-label"), "Theme: dark. Change theme");
  await toggle.click(); // back to system
  assert.equal(await page.locator("html").getAttribute("data-theme"), null);

  step("confirm dialog: nothing is sent until confirmed");
  const del = page.locator("#template-row").getByRole("button", { name: "Delete template" });
  await del.click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /Delete the template “order_update”\?/);
  assert.ok(await dialog.getByRole("button", { name: "Cancel" }).evaluate((b) => b === document.activeElement), "Cancel has the focus");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.equal(demo("/demo/templates/order_update/delete").length, 0, "cancelled: nothing sent");
  await del.click();
  await dialog.getByRole("button", { name: "Delete template" }).click();
  await page.getByText("The template “order_update” was deleted.").waitFor();
  sent = demo("/demo/templates/order_update/delete");
  assert.equal(sent.length, 1);
  assert.equal(sent[0].headers["hx-confirmed"], "true");
  await page.locator("#toasts .toast", { hasText: "Template “order_update” deleted" }).waitFor();

  step("Load more appends rows; recent times read relative with the exact time on hover");
  await page.getByRole("link", { name: "Load more" }).click();
  await page.getByRole("cell", { name: "+91 90000 00001" }).waitFor();
  const time = page.locator("#message-rows tr", { hasText: "+91 90000 00001" }).locator("time");
  assert.equal(await time.textContent(), "3 minutes ago");
  assert.equal(await time.getAttribute("title"), "6 Dec 2026, 10:27");
  assert.equal(await page.locator("#message-rows tr", { hasText: "+91 91234 50000" }).locator("time").textContent(), "28 Nov 2026, 14:44", "old dates stay exact");
  await page.getByRole("link", { name: "Load more" }).click();
  await page.getByRole("cell", { name: "+91 90000 00004" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Load more" }).count(), 0, "no more pages");

  step("server-sent events append to the thread; the reply box sends and clears");
  await waitFor(() => sse.size > 0, { message: "the EventSource connected" });
  pushEvent("message", `<div class="msg"><p class="msg__body">Is 4 pm free?</p><div class="msg__meta">10:40</div></div>`);
  await page.locator("#thread").getByText("Is 4 pm free?").waitFor();
  await page.locator("body").click({ position: { x: 5, y: 300 } });
  await page.keyboard.press("r");
  const reply = page.getByLabel("Reply", { exact: true });
  assert.ok(await reply.evaluate((el) => el === document.activeElement), "r focuses the reply box");
  await page.keyboard.type("Yes, 4 pm is free.");
  await page.locator(".composer").getByRole("button", { name: "Send" }).click();
  await page.locator("#thread").getByText("Yes, 4 pm is free.").waitFor();
  assert.equal(await reply.inputValue(), "", "the reply box is reset after sending");

  step("toasts: from an HX-Trigger header, and for a network failure");
  await page.getByRole("button", { name: "Show a toast" }).click();
  await page.locator("#toasts .toast--info", { hasText: "Settings saved" }).waitFor();
  await page.getByRole("button", { name: "Try while offline" }).click();
  await page.locator("#toasts .toast--danger", { hasText: "Network error" }).waitFor();

  step("copy to clipboard");
  await page.getByRole("button", { name: "Copy" }).click();
  await page.locator("#toasts .toast", { hasText: "Copied to clipboard" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "mpk_live_7Qm2vX9rT4kLs8wZ1nB6yH3c");

  step("template builder: the preview follows what is typed");
  await page.getByLabel("Example for {{1}}").fill("Ravi");
  await page.locator("#preview .wa-var", { hasText: "Ravi" }).waitFor();
  await page.getByLabel("Example for {{2}}").fill("");
  await page.locator("#preview .wa-var--missing", { hasText: "{{2}}" }).waitFor();

  step("phone (360 px): navigation behind the menu button, inbox list first");
  const phonePage = await newPage({ baseURL: base, viewport: { width: 360, height: 780 } });
  await phonePage.goto("/styleguide.html");
  const nav = phonePage.getByRole("navigation", { name: "Main" });
  assert.equal(await nav.isVisible(), false, "navigation collapsed under 768 px");
  await screenshot(phonePage, "phone-light");
  await phonePage.locator(".topbar__menu").click(); // the visible menu button (the checkbox's label)
  await nav.waitFor();
  await screenshot(phonePage, "phone-nav-open", { fullPage: false });
  await phonePage.getByLabel("Navigation menu").focus(); // keyboard: the checkbox itself
  await phonePage.keyboard.press("Space");
  await nav.waitFor({ state: "hidden" });
  assert.equal(await phonePage.locator(".inbox__thread").isVisible(), false, "the thread waits until a conversation is opened");
  await checkA11y(phonePage, "styleguide, 360 px");
  await phonePage.emulateMedia({ colorScheme: "dark" });
  await screenshot(phonePage, "phone-dark");

  step("without JavaScript: the same form posts and a full page comes back");
  const plain = await newPage({ baseURL: base, javaScriptEnabled: false });
  await plain.goto("/styleguide.html");
  assert.equal(await plain.getByRole("button", { name: /^Theme/ }).count(), 0, "JS-only controls are hidden");
  await plain.getByLabel("Name").first().fill("Ravi Kumar");
  await plain.getByLabel("Phone number").first().fill("+91 91234 56789");
  await plain.getByRole("button", { name: "Save contact" }).click();
  await plain.getByRole("heading", { name: "Contact saved" }).waitFor();
  assert.ok(plain.url().endsWith("/demo/contacts/saved"));
  sent = demo("/demo/contact").at(-1);
  assert.equal(sent.headers["hx-request"], undefined, "a plain form post");
  assert.equal(sent.form._csrf, TOKEN, "the CSRF token travels as a form field");
  assert.equal(sent.form.name, "Ravi Kumar");
});

for (const res of sse) res.end();
server.close();
server.closeAllConnections();

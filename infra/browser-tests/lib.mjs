// Helpers for the console's browser scenarios: plain Node ESM scripts that drive Debian's Chromium
// through playwright-core (never a downloaded browser) and exit non-zero on failure.
//
//   import { scenario, step, checkA11y, screenshot } from "./lib.mjs";
//   await scenario("sign-in", async ({ newPage }) => {
//     const page = await newPage();                 // baseURL = $BASE_URL
//     await page.goto("/");
//     step("signs in");
//     ...
//     await checkA11y(page, "sign-in page");
//   });
//
// Environment: BASE_URL (pages' base URL), OUTBOX_DIR (where the local platform writes .eml files),
// BROWSER_TEST_ARTIFACTS (screenshots; default ./artifacts), CHROMIUM (default /usr/bin/chromium),
// HEADED=1 to watch the browser.
import { readFile, readdir, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`environment variable ${name} is required`);
  return v;
};

export const artifactsDir = () => path.resolve(process.env.BROWSER_TEST_ARTIFACTS || path.join(here, "artifacts"));

/** Debian's Chromium, headless, with the flags that make it run as root and stay offline. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: !process.env.HEADED,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A page in its own context (own cookies and storage). Options: baseURL (default $BASE_URL),
 * viewport, colorScheme ("light" | "dark"), javaScriptEnabled, permissions. Every page records
 * its JS errors and console errors; `assertNoErrors(page)` (run for you by `scenario`) fails on them.
 */
export async function newPage(browser, opts = {}) {
  const { baseURL = process.env.BASE_URL, viewport = { width: 1280, height: 900 }, ...rest } = opts;
  const context = await browser.newContext({ baseURL, viewport, colorScheme: "light", ...rest });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.errors = [];
  page.allowedConsoleErrors = [];
  page.on("pageerror", (e) => page.errors.push(`page error: ${e.stack || e.message}`));
  page.on("console", (m) => {
    // "Failed to load resource" repeats a network answer: 4xx/5xx answers to fetch() are normal
    // (a 422 form), so broken assets are caught from the network events below instead.
    if (m.type() !== "error" || m.text().startsWith("Failed to load resource")) return;
    const text = `${m.text()} (${m.location().url || "?"})`;
    if (!page.allowedConsoleErrors.some((re) => re.test(text))) page.errors.push(`console error: ${text}`);
  });
  const asset = (r) => ["stylesheet", "script", "image", "font"].includes(r.resourceType());
  page.on("response", (r) => { if (r.status() >= 400 && asset(r.request())) page.errors.push(`asset ${r.url()}: HTTP ${r.status()}`); });
  page.on("requestfailed", (r) => { if (asset(r)) page.errors.push(`asset ${r.url()}: ${r.failure()?.errorText}`); });
  return page;
}

/** Lets console errors matching `re` pass (e.g. a resource a scenario makes fail on purpose). */
export function allowConsoleErrors(page, re) {
  page.allowedConsoleErrors.push(re);
}

/** Fails when the page had a JS exception, a console error (a CSP violation is one) or a broken asset. */
export function assertNoErrors(page) {
  if (page.errors.length) throw new Error(`errors in the page:\n  ${page.errors.join("\n  ")}`);
}

let currentScenario = "scenario";

/** Prints a step, so a failing run shows how far it got. */
export function step(text) {
  console.log(`  - ${text}`);
}

/**
 * Runs a scenario: launches the browser, gives `body` a `newPage(opts)` that tracks pages, checks
 * every page for errors at the end, screenshots every open page on failure and sets the exit code.
 */
export async function scenario(name, body) {
  currentScenario = name;
  console.log(`scenario ${name}`);
  const browser = await launch();
  const pages = [];
  const started = Date.now();
  try {
    await body({ browser, newPage: async (opts) => { const p = await newPage(browser, opts); pages.push(p); return p; } });
    pages.forEach(assertNoErrors);
    console.log(`scenario ${name}: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    console.error(`scenario ${name}: FAILED\n${e.stack || e}`);
    for (const [i, p] of pages.entries()) {
      if (p.errors.length) console.error(`page ${i} errors:\n  ${p.errors.join("\n  ")}`);
      if (!p.isClosed()) await screenshot(p, `failure-${i}`).catch(() => {});
    }
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

/** Saves a full-page PNG as <artifacts>/<scenario>-<name>.png and returns its path. */
export async function screenshot(page, name, { fullPage = true } = {}) {
  const dir = artifactsDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${currentScenario}-${name}.png`);
  await page.screenshot({ path: file, fullPage });
  console.log(`    screenshot ${file}`);
  return file;
}

let axeSource;
/**
 * Runs axe-core on the page (or `include` selectors) and fails on serious or critical violations,
 * printing every violation with its elements. Injected through the DevTools protocol, so the
 * page's CSP (no inline scripts) stays on.
 */
export async function checkA11y(page, label, { include, exclude = [] } = {}) {
  axeSource ??= await readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async ({ include, exclude }) => {
    const context = include ? { include, exclude } : { exclude };
    const r = await window.axe.run(context, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary.replace(/\s+/g, " ")}`),
    }));
  }, { include, exclude });
  const report = (v) => `[${v.impact}] ${v.id}: ${v.help}\n      ${v.nodes.slice(0, 8).join("\n      ")}`;
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of violations.filter((x) => !bad.includes(x))) console.log(`    a11y note (${label}) ${report(v)}`);
  if (bad.length) throw new Error(`accessibility (${label}): ${bad.length} serious/critical violation(s)\n    ${bad.map(report).join("\n    ")}`);
  step(`axe-core: no serious or critical violations (${label})`);
}

/**
 * `checkA11y` once the page's animations are over: a toast fading in is measured mid-animation
 * (lighter text), which axe-core reports as low contrast.
 */
export async function checkA11ySettled(page, label, opts) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await checkA11y(page, label, opts);
}

/** Polls `fn` (async allowed) until it returns a truthy value, which it returns. */
export async function waitFor(fn, { timeout = 10_000, interval = 50, message = "condition" } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${message}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

// ---- Email from the local outbox -----------------------------------------------------------

/**
 * Waits for the newest `.eml` in `dir` (default $OUTBOX_DIR) whose recipient contains `to` (and,
 * with `after`, whose file name sorts after it: names are ULIDs, so later means newer) and returns
 * it parsed: {file, subject, from, to, text, html, headers}.
 */
export async function newestEmail({ dir = env("OUTBOX_DIR"), to, after, timeout = 10_000 } = {}) {
  return waitFor(async () => {
    const names = (await readdir(dir).catch(() => [])).filter((n) => n.endsWith(".eml") && !n.startsWith(".")).sort().reverse();
    for (const name of names) {
      if (after && name <= after) break;
      const mail = parseEml(await readFile(path.join(dir, name), "utf8"));
      if (!to || mail.to.toLowerCase().includes(to.toLowerCase())) return { file: name, ...mail };
    }
    return null;
  }, { timeout, interval: 100, message: `an email${to ? ` to ${to}` : ""} in ${dir}` });
}

/** A small RFC 5322/MIME reader: headers, encoded words, multipart, quoted-printable, base64. */
export function parseEml(raw) {
  const { headers, body } = splitPart(raw);
  const out = { headers, subject: headers.subject || "", from: headers.from || "", to: headers.to || "", text: "", html: "" };
  collect(headers, body, out);
  return out;
}

function splitPart(raw) {
  const m = /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw, body = m ? raw.slice(m.index + m[0].length) : "";
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = decodeWords(line.slice(i + 1).trim());
  }
  return { headers, body };
}

// Adjacent encoded words are joined before decoding: a character's bytes may span two of them.
function decodeWords(s) {
  return s.replace(/=\?[^?]+\?[bBqQ]\?[^?]*\?=(?:\s+=\?[^?]+\?[bBqQ]\?[^?]*\?=)*/g, (run) => {
    let charset = "utf-8";
    const bytes = [...run.matchAll(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g)].map(([, cs, enc, text]) => {
      charset = cs;
      return /b/i.test(enc) ? Buffer.from(text, "base64") : qp(text.replace(/_/g, " "));
    });
    return new TextDecoder(charset).decode(Buffer.concat(bytes));
  });
}

function qp(s) {
  const bytes = [];
  const soft = s.replace(/=\r?\n/g, "");
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) { bytes.push(parseInt(soft.slice(i + 1, i + 3), 16)); i += 2; }
    else bytes.push(...Buffer.from(soft[i], "utf8"));
  }
  return Buffer.from(bytes);
}

function collect(headers, body, out) {
  const type = (headers["content-type"] || "text/plain").toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers["content-type"] || "")?.[1];
  if (type.startsWith("multipart/") && boundary) {
    const parts = body.split(new RegExp(`\\r?\\n?--${boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:--)?[ \\t]*\\r?\\n?`));
    for (const p of parts.slice(1)) if (p.trim()) { const part = splitPart(p); collect(part.headers, part.body, out); }
    return;
  }
  const enc = (headers["content-transfer-encoding"] || "7bit").toLowerCase();
  const charset = /charset="?([^";]+)"?/i.exec(headers["content-type"] || "")?.[1] || "utf-8";
  const bytes = enc === "base64" ? Buffer.from(body.replace(/\s+/g, ""), "base64") : enc === "quoted-printable" ? qp(body) : Buffer.from(body, "utf8");
  const text = new TextDecoder(charset).decode(bytes).replace(/\r\n/g, "\n");
  if (type.startsWith("text/html")) out.html ||= text;
  else if (type.startsWith("text/plain")) out.text ||= text;
}

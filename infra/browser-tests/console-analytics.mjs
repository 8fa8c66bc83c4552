// The numbers a business runs on, on screen and in the API: the dashboard's last-30-days funnel and
// credits, and a finished campaign's report (funnel and failures by Meta's code) show exactly what
// GET /analytics/daily and GET /campaigns/{id}/report answer.
// Environment: BASE_URL, OWNER_EMAIL, OWNER_PASSWORD, TOKEN (the owner's API token), CAMPAIGN_ID
// (a finished campaign: ten read, two failed with different codes, one contact opted out).
import assert from "node:assert/strict";
import { scenario, step, checkA11y, screenshot, env } from "./lib.mjs";

const base = env("BASE_URL");
async function api(path) {
  const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${env("TOKEN")}` } });
  assert.equal(r.status, 200, `GET ${path}`);
  return r.json();
}
// "1,234" as the console prints counts → 1234.
const count = (text) => Number(text.replace(/[^\d]/g, ""));

await scenario("console-analytics", async ({ newPage }) => {
  const page = await newPage();

  step("signs in: the dashboard");
  await page.goto("/");
  await page.getByLabel("Email").fill(env("OWNER_EMAIL"));
  await page.getByLabel("Password", { exact: true }).fill(env("OWNER_PASSWORD"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();

  step("the last 30 days on the dashboard are the API's daily counters summed");
  const daily = await api("/analytics/daily");
  assert.ok(daily.items.length >= 28, `30 days by default (${daily.items.length})`);
  const sum = (f) => daily.items.reduce((n, d) => n + f(d), 0);
  const expected = { Sent: sum((d) => d.sent), Delivered: sum((d) => d.delivered), Read: sum((d) => d.read), Failed: sum((d) => d.failed) };
  assert.ok(expected.Sent >= 10 && expected.Failed >= 2, `the campaign is in the counters: ${JSON.stringify(expected)}`);
  const funnel = page.getByRole("region", { name: "Last 30 days", exact: true });
  for (const [label, value] of Object.entries(expected)) {
    const shown = await funnel.getByRole("listitem").filter({ hasText: label }).locator("strong").innerText();
    assert.equal(count(shown), value, `dashboard ${label}`);
  }
  const chart = await funnel.getByRole("img").getAttribute("aria-labelledby");
  const alt = await page.locator(`#${chart}`).textContent();
  assert.match(alt, new RegExp(`${expected.Sent} sent`), `the chart's text alternative says the same (${alt})`);

  step("credits: what the counters debited and refunded (this tenant's plan is a monthly quota: none)");
  // Money has up to four decimals ("0.7846"): compare in ten-thousandths.
  const cents = (m) => Math.round(Number(m) * 10_000);
  const debited = sum((d) => cents(d.credits_debited));
  const refunded = sum((d) => cents(d.credits_refunded));
  const burn = await page.locator("#credits-burn").innerText();
  const amounts = [...burn.matchAll(/-?[\d,]+\.\d{2,4}/g)].map((m) => cents(m[0].replace(/,/g, "")));
  assert.deepEqual(amounts, [debited - refunded, debited, refunded], `credits line: ${burn}`);
  await checkA11y(page, "dashboard with a finished campaign");
  await screenshot(page, "dashboard-numbers");

  step("the campaign's report page shows the API's funnel and failures");
  const id = env("CAMPAIGN_ID");
  const report = await api(`/campaigns/${id}/report`);
  await page.goto(`/app/campaigns/${id}`);
  await page.getByRole("heading", { name: report.campaign.name }).waitFor();
  const stage = async (label) => count(await page.locator(`[data-stage="${label}"]`).innerText());
  assert.equal(await stage("Sent"), report.funnel.sent, "Sent");
  assert.equal(await stage("Delivered"), report.funnel.delivered, "Delivered");
  assert.equal(await stage("Read"), report.funnel.read, "Read");
  assert.equal(await stage("Failed"), report.funnel.failed, "Failed");
  assert.equal(await stage("Skipped (opted out)"), report.funnel.skipped_opted_out, "Skipped (opted out)");

  const table = page.getByRole("table", { name: "Failures by reason" });
  const rows = table.getByRole("row");
  assert.equal(await rows.count(), report.failures.length + 1, "one row per failure group, under a header");
  for (const [i, f] of report.failures.entries()) {
    const cells = await rows.nth(i + 1).getByRole("cell").allInnerTexts();
    assert.equal(cells[0], String(f.code), `failure ${i} code`);
    assert.equal(cells[1], f.title, `failure ${i} reason`);
    assert.equal(count(cells[2]), f.count, `failure ${i} count`);
    assert.equal(cells[3], f.retryable ? "can be retried" : "final", `failure ${i} retry`);
  }
  await checkA11y(page, "campaign report");
  await screenshot(page, "campaign-report");
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot(page, "campaign-report-dark");
  await checkA11y(page, "campaign report in dark mode");
  await page.goto("/");
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await screenshot(page, "dashboard-numbers-dark");
  await checkA11y(page, "dashboard in dark mode");
});

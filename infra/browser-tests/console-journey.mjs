// The whole first day of a business on the platform, in one browser, as people do it (issue 16's
// journey): the platform owner provisions the tenant and tops it up; the tenant's owner signs in
// with the emailed one-time password and must change it, connects WhatsApp with the "Connect
// WhatsApp" button (the simulator's stand-in for Meta's SDK), builds a template with the live
// preview and sees Meta approve it without reloading, uploads a messy CSV and reads the report row
// by row, launches a campaign to everyone with the wizard and watches it reach "read", and creates
// an API key that is shown once. axe-core runs on every page visited; the dashboard, the builder
// and the campaign's progress are saved as screenshots (1280×800, for the README).
// Environment: BASE_URL, OUTBOX_DIR, ADMIN_EMAIL, ADMIN_PASSWORD (the platform's super admin; a
// plan named "Starter" exists, no tenant yet).
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { scenario, step, checkA11y as axe, screenshot, newestEmail, env } from "./lib.mjs";

const OWNER = "asha@acme-dental.test";
const NEW_PASSWORD = "a long passphrase of my own";
// Waits on anything that arrives asynchronously (Meta's review, webhooks, polling): generous, as
// the suite runs on a loaded machine; never a fixed sleep.
const SLOW = { timeout: 60_000 };
const VIEWPORT = { width: 1280, height: 800 };

// The spreadsheet a receptionist exports: the same person twice (once without the +), a blank
// line, a national number without its country code, a note where a phone should be, too few digits.
const CSV = [
  "phone,name,tags",
  "+91 98765 43210,Asha Rao,patients",
  "919876543210,Asha Rao (again),patients",
  "",
  "+1 (415) 555-0123,Lee Chen,patients;vip",
  "09812 345678,Ravi Kumar,patients",
  "call after 6,Bad Bob,",
  "12345,Short Sam,",
  "",
].join("\n");

// A toast fading in is measured mid-animation (lighter text): check once animations are over.
async function checkA11y(page, label) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await axe(page, label);
}

const label = (page, text) => page.getByLabel(text, { exact: true });
const toast = (page, text) => page.getByRole("status").getByText(text).waitFor(SLOW);
const nav = (page, name) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();

await scenario("console-journey", async ({ newPage }) => {
  // ---- The platform owner ----------------------------------------------------------------------
  const admin = await newPage();
  step("the platform owner signs in and provisions Acme Dental on the Starter plan");
  await admin.goto("/");
  await checkA11y(admin, "sign-in page");
  await label(admin, "Email").fill(env("ADMIN_EMAIL"));
  await label(admin, "Password").fill(env("ADMIN_PASSWORD"));
  await admin.getByRole("button", { name: "Sign in" }).click();
  await admin.getByRole("heading", { name: "Tenants", exact: true }).waitFor();
  await checkA11y(admin, "tenants, empty");
  await admin.getByRole("link", { name: "New tenant" }).first().click();
  await admin.getByRole("heading", { name: "New tenant", exact: true }).waitFor();
  await label(admin, "Business name").fill("Acme Dental");
  await label(admin, "Slug").fill("acme-dental");
  await label(admin, "Admin's name").fill("Asha Rao");
  await label(admin, "Admin's email").fill(OWNER);
  await label(admin, "Plan").selectOption({ label: "Starter" });
  await checkA11y(admin, "new tenant form");
  await admin.getByRole("button", { name: "Create tenant" }).click();
  await admin.getByRole("heading", { name: /Acme Dental/ }).waitFor();
  await toast(admin, `Welcome email sent to ${OWNER}`);
  await checkA11y(admin, "tenant page");

  step("tops up its prepaid credits");
  await label(admin, "Amount").fill("500");
  await label(admin, "Description (e.g. the invoice)").fill("Invoice 2026-001");
  await admin.getByRole("button", { name: "Add credits" }).click();
  await toast(admin, "Added 500.00 credits");
  await admin.getByRole("cell", { name: "Invoice 2026-001" }).waitFor();

  // ---- The tenant's owner, in her own browser --------------------------------------------------
  const page = await newPage({ viewport: VIEWPORT, permissions: ["clipboard-read", "clipboard-write"] });
  step("the owner opens the welcome email and signs in with its one-time password");
  const welcome = await newestEmail({ to: OWNER, timeout: 30_000 });
  assert.equal(welcome.subject, "Your Miping account for Acme Dental");
  const oneTime = /One-time password: (\S+)/.exec(welcome.text)?.[1];
  const link = /Log in at: (\S+)/.exec(welcome.text)?.[1];
  assert.ok(oneTime && link, `the email gives the password and the link:\n${welcome.text}`);
  await page.goto(new URL(link).pathname);
  await label(page, "Email").fill(OWNER);
  await label(page, "Password").fill(oneTime);
  await page.getByRole("button", { name: "Sign in" }).click();

  step("must choose her own password first");
  await page.getByRole("heading", { name: "Change your password" }).waitFor();
  await checkA11y(page, "change-password page");
  await label(page, "Current password").fill(oneTime);
  await label(page, "New password").fill(NEW_PASSWORD);
  await label(page, "Repeat the new password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await toast(page, "Password changed");
  await page.getByRole("link", { name: /WhatsApp not connected/ }).waitFor();
  await page.getByText("Starter plan").waitFor();
  await checkA11y(page, "dashboard, first visit");

  step("connects WhatsApp with the button: Meta's window (the simulator's SDK) answers");
  await page.getByRole("main").getByRole("link", { name: "Connect WhatsApp" }).click();
  await page.getByRole("heading", { name: "Connect WhatsApp", level: 1 }).waitFor();
  await page.getByText("Not connected yet").waitFor();
  await checkA11y(page, "connect page, not connected");
  await page.waitForFunction(() => window.FB && !document.getElementById("connect-button").disabled, null, SLOW);
  const popup = page.waitForEvent("popup");
  await page.getByRole("button", { name: "Connect WhatsApp" }).click();
  assert.match((await popup).url(), /\/dialog\/embedded_signup\?/, "the SDK opened the signup window");
  await toast(page, "WhatsApp connected");
  assert.equal(await page.locator(".steps .step--failed").count(), 0, "no onboarding step failed");
  await page.getByRole("link", { name: /WhatsApp connected/ }).waitFor();
  await checkA11y(page, "connect page, connected");

  step("builds a template: the preview fills in as she types");
  await nav(page, "Templates");
  await page.getByRole("heading", { name: "Templates", exact: true }).waitFor();
  await page.getByText("No templates yet").waitFor();
  await checkA11y(page, "templates, empty");
  await page.getByRole("link", { name: "New template" }).first().click();
  await page.getByRole("heading", { name: "New template" }).waitFor();
  const preview = page.getByRole("figure", { name: "Preview on a phone" });
  await label(page, "Name").fill("visit_reminder");
  await label(page, "Language").selectOption({ label: "English (en)" });
  await page.getByLabel("Category").selectOption("UTILITY");
  await page.getByLabel("Body").fill("Hi {{1}}, your check-up at Acme Dental is due this month. Reply to book a time.");
  const example = page.getByLabel("Example for {{1}}");
  await example.waitFor();
  await preview.locator(".wa-var--missing", { hasText: "{{1}}" }).waitFor();
  await example.fill("Asha");
  await preview.locator(".wa-var", { hasText: "Asha" }).waitFor();
  await page.getByLabel("Footer").fill("Acme Dental, Pune");
  await preview.getByText("Acme Dental, Pune").waitFor();
  assert.match(await preview.textContent(), /Hi Asha, your check-up at Acme Dental is due this month\./);
  await checkA11y(page, "template builder, filled");
  await page.getByLabel("Footer").blur();
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, "template-builder", { fullPage: false });

  step("submits it and sees Meta approve it without reloading");
  await page.getByRole("button", { name: "Submit for review" }).click();
  await toast(page, "Template submitted for review");
  const row = page.getByRole("row", { name: /visit_reminder/ });
  await row.waitFor();
  const listUrl = page.url();
  await row.getByText("approved", { exact: true }).waitFor(SLOW);
  assert.equal(page.url(), listUrl, "the list updated itself");
  await checkA11y(page, "templates, approved");

  step("imports a messy CSV and reads the report row by row");
  const dir = await mkdtemp(path.join(os.tmpdir(), "miping-journey-"));
  const csvFile = path.join(dir, "patients.csv");
  await writeFile(csvFile, CSV);
  await nav(page, "Contacts");
  await page.getByRole("heading", { name: "Contacts", exact: true }).waitFor();
  await checkA11y(page, "contacts, empty");
  await page.getByRole("link", { name: "Import contacts" }).first().click();
  await page.getByRole("heading", { name: "Import contacts" }).waitFor();
  await checkA11y(page, "import form");
  await page.getByLabel("CSV file").setInputFiles(csvFile);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.getByRole("heading", { name: "Import report" }).waitFor(SLOW);
  const stat = async (name) => (await page.locator(".stat", { hasText: name }).locator(".stat__value").innerText()).trim();
  assert.equal(await stat("Added"), "2", "Asha and Lee");
  assert.equal(await stat("Duplicates skipped"), "1", "Asha written without the +");
  assert.equal(await stat("Not imported"), "3");
  const report = page.getByRole("table", { name: /Rows not imported/ });
  // Rows count data rows after the header; blank lines are not rows.
  const reportRow = async (phone) => (await report.getByRole("row", { name: phone }).innerText()).replace(/\s+/g, " ");
  assert.match(await reportRow("09812 345678"), /^4 09812 345678 .*include the country code/, "the national number");
  assert.match(await reportRow("call after 6"), /^5 call after 6 .*not part of a phone number/);
  assert.match(await reportRow("12345"), /^6 12345 .*not a valid phone number/);
  await checkA11y(page, "import report");
  await page.getByRole("link", { name: "See the contacts" }).click();
  const contacts = page.getByRole("table", { name: /Contacts/ });
  await contacts.getByRole("link", { name: "Asha Rao", exact: true }).waitFor();
  await contacts.getByRole("link", { name: "Lee Chen" }).waitFor();
  await checkA11y(page, "contacts");

  step("creates a campaign to every contact with the wizard");
  await nav(page, "Campaigns");
  await page.getByRole("heading", { name: "No campaigns yet" }).waitFor();
  await checkA11y(page, "campaigns, empty");
  await page.getByRole("link", { name: "New campaign" }).first().click();
  await page.getByRole("heading", { name: "New campaign" }).waitFor();
  await page.getByLabel("Campaign name").fill("Check-up reminders");
  await page.getByLabel("Template").selectOption({ label: "visit_reminder (en)" });
  await page.getByLabel("Every contact").check();
  await page.locator("#audience-count").getByText("2 recipients · 0 opted out").waitFor(SLOW);
  await page.getByLabel("{{1}} is").selectOption({ label: "the contact's name" });
  const first = page.getByRole("figure", { name: "Preview of the first recipient's message" });
  await first.getByText(/^Hi (Asha Rao|Lee Chen), your check-up at Acme Dental is due this month\./).waitFor(SLOW);
  await page.getByText(/Cost: up to [\d.]+ credits \(balance 500\.00/).waitFor();
  await checkA11y(page, "campaign wizard, filled");

  step("sends it now and watches the progress reach read without reloading");
  await page.getByRole("button", { name: "Create campaign" }).click();
  await page.getByRole("heading", { name: "Check-up reminders" }).waitFor(SLOW);
  await toast(page, "Campaign started");
  const navigations = [];
  page.on("framenavigated", (f) => f === page.mainFrame() && navigations.push(f.url()));
  await page.locator('[data-stage="Read"]').getByText("2", { exact: true }).waitFor(SLOW);
  await page.locator("#campaign-status").getByText("completed").waitFor(SLOW);
  assert.deepEqual(navigations, [], "the page updated itself");
  await checkA11y(page, "campaign progress");
  await screenshot(page, "campaign-progress", { fullPage: false });

  step("creates an API key for her booking system: shown once, never again");
  await nav(page, "Settings");
  await page.getByRole("heading", { name: "Settings", exact: true }).waitFor();
  await page.getByText("No API keys yet").waitFor();
  await checkA11y(page, "settings");
  await page.getByLabel("Key name").fill("Booking system");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByText("you will not see it again").waitFor();
  const key = (await page.locator("#new-api-key").textContent()).trim();
  assert.match(key, /^mip_live_\w{40}$/);
  await page.getByRole("button", { name: "Copy key" }).click();
  await toast(page, "Copied to clipboard");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key, "the clipboard holds the key");
  await checkA11y(page, "settings with the new key");
  await page.reload();
  await page.getByRole("cell", { name: "Booking system", exact: true }).waitFor();
  assert.equal(await page.getByText(key).count(), 0, "the key is never shown again");

  step("the dashboard: connected, the campaign's messages counted, the balance spent");
  await nav(page, "Dashboard");
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.getByRole("link", { name: "Check-up reminders" }).waitFor();
  await page.getByRole("img", { name: /Messages per day over the last 30 days: 2 sent, 2 delivered, 2 read, 0 failed/ }).waitFor(SLOW);
  assert.equal(await page.getByRole("link", { name: /WhatsApp not connected/ }).count(), 0);
  const balance = /([\d.]+) INR/.exec(await page.locator(".stat", { hasText: "Balance" }).innerText())?.[1];
  assert.ok(Number(balance) > 0 && Number(balance) < 500, `two messages were paid from the 500.00 credits: ${balance}`);
  await checkA11y(page, "dashboard");
  await screenshot(page, "dashboard", { fullPage: false });
});

// The platform owner's day, as a person does it: signs in, creates a plan (first with a bad field,
// sees the error next to it), provisions a tenant on it, adds credits, suspends it after
// confirming, reactivates it and resends the welcome email; the library; the webhook quarantine
// (the test quarantined one malformed body first): the list, and that body inspected.
// Environment: BASE_URL, OUTBOX_DIR, ADMIN_EMAIL, ADMIN_PASSWORD (the platform's super admin).
import assert from "node:assert/strict";
import { scenario, step, checkA11y, screenshot, env } from "./lib.mjs";

const toast = (page, text) => page.getByRole("status").getByText(text).waitFor();
const label = (page, text) => page.getByLabel(text, { exact: true });

await scenario("console-admin", async ({ newPage }) => {
  const page = await newPage();

  step("signs in and lands on the tenants");
  await page.goto("/");
  await label(page, "Email").fill(env("ADMIN_EMAIL"));
  await label(page, "Password").fill(env("ADMIN_PASSWORD"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Tenants", exact: true }).waitFor();
  await page.getByText("No tenants yet").waitFor();
  await checkA11y(page, "tenants, empty");

  step("creates a plan: a bad field first, its error next to it");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Plans" }).click();
  await page.getByRole("heading", { name: "Plans", exact: true }).waitFor();
  await checkA11y(page, "plans, empty");
  await page.getByRole("link", { name: "New plan" }).first().click();
  await page.getByRole("heading", { name: "New plan", exact: true }).waitFor();
  const plan = {
    "Name": "Growth", "Price": "1499.00", "Currency (e.g. INR)": "INR", "Messages per month": "10000",
    "Contacts": "5000", "Templates": "50", "API keys": "5", "Messages per second": "5000",
  };
  for (const [l, v] of Object.entries(plan)) await label(page, l).fill(v);
  await page.getByRole("button", { name: "Create plan" }).click();
  await page.getByText("must be between 1 and 1000").waitFor();
  assert.equal(await label(page, "Messages per second").getAttribute("aria-invalid"), "true");
  assert.equal(await label(page, "Name").inputValue(), "Growth", "the form keeps what was typed");
  await checkA11y(page, "plan form with an error");
  await label(page, "Messages per second").fill("80");
  await page.getByRole("button", { name: "Create plan" }).click();
  await toast(page, "Plan Growth created");
  await page.getByRole("cell", { name: "1499.00 INR" }).waitFor();

  step("provisions a tenant on it");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tenants" }).click();
  await page.getByRole("link", { name: "New tenant" }).first().click();
  await page.getByRole("heading", { name: "New tenant", exact: true }).waitFor();
  await label(page, "Business name").fill("Acme Dental");
  await label(page, "Slug").fill("acme-dental");
  await label(page, "Admin's name").fill("Asha Rao");
  await label(page, "Admin's email").fill("asha@acme.test");
  await label(page, "Plan").selectOption({ label: "Growth" });
  await checkA11y(page, "new tenant form");
  await page.getByRole("button", { name: "Create tenant" }).click();
  await page.getByRole("heading", { name: /Acme Dental/ }).waitFor();
  await toast(page, "Welcome email sent to asha@acme.test");
  await checkA11y(page, "tenant page");

  step("adds credits");
  await label(page, "Amount in INR (negative to correct a mistaken top-up)").fill("500");
  await label(page, "Description (e.g. the invoice; the reason for a correction)").fill("Invoice 2026-118");
  await page.getByRole("button", { name: "Add credits" }).click();
  await toast(page, "Added 500.00 credits");
  await page.getByText("500.00 INR").waitFor();
  await page.getByRole("cell", { name: "Invoice 2026-118" }).waitFor();

  step("suspends it after confirming, then reactivates it");
  await page.getByRole("button", { name: "Suspend" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("Suspend Acme Dental?").waitFor();
  await dialog.getByRole("button", { name: "Suspend tenant" }).click();
  await page.getByRole("heading", { name: "Acme Dental suspended", exact: true }).waitFor();
  await screenshot(page, "tenant-suspended");
  await page.getByRole("button", { name: "Reactivate" }).click();
  await page.getByRole("heading", { name: "Acme Dental active", exact: true }).waitFor();
  await toast(page, "Acme Dental reactivated");

  step("resends the welcome email");
  await page.getByRole("button", { name: "Resend welcome email" }).click();
  await toast(page, "Welcome email sent to asha@acme.test");

  step("the tenants list, the library and the quarantine");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tenants" }).click();
  await page.getByRole("link", { name: "Acme Dental" }).waitFor();
  await checkA11y(page, "tenants");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Library templates" }).click();
  await page.getByText("The library is empty").waitFor();
  await checkA11y(page, "library, empty");
  await page.getByRole("link", { name: "New library template" }).first().click();
  await label(page, "Name (lower case and underscores)").fill("order_update");
  await label(page, "Body").fill("Hi {{1}}, your order is on its way.");
  await page.getByRole("button", { name: "Add to the library" }).click();
  await page.getByText("example").first().waitFor();
  await checkA11y(page, "library form with an error");
  await page.getByLabel(/^Examples/).fill("Asha");
  await page.getByRole("button", { name: "Add to the library" }).click();
  await toast(page, "Library template order_update added");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Webhook quarantine" }).click();
  await page.getByRole("heading", { name: "Webhook quarantine", exact: true }).waitFor();
  await page.getByRole("cell", { name: "malformed", exact: true }).waitFor();
  await checkA11y(page, "quarantine");
  await page.getByRole("link", { name: /^Inspect the malformed webhook of / }).click();
  await page.getByRole("heading", { name: "Quarantined webhook", exact: true }).waitFor();
  await page.getByText("The body could not be read as a webhook.").waitFor();
  assert.equal((await page.locator("pre.payload").textContent()).trim(), env("QUARANTINED_BODY"), "the body as it came");
  await checkA11y(page, "quarantined webhook");
  await page.getByRole("link", { name: "Webhook quarantine" }).first().click();
  await page.getByRole("heading", { name: "Webhook quarantine", exact: true }).waitFor();
});

// The owner's contacts and messages, as a person does it: uploads a messy CSV from a file and
// reads the report, searches and filters by tag, adds a contact with a bad phone (the error
// next to the field) and fixes it, deletes one after confirming, then opens the messages log and
// one message's history. Environment: BASE_URL, OWNER_EMAIL, OWNER_PASSWORD (a tenant admin whose
// tenant already sent a message to +14155550101), CONTACTS_CSV (the file's text).
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { scenario, step, checkA11y, screenshot, env } from "./lib.mjs";

const dir = await mkdtemp(path.join(os.tmpdir(), "miping-contacts-"));
const csvFile = path.join(dir, "contacts.csv");
await writeFile(csvFile, env("CONTACTS_CSV"));

await scenario("console-contacts", async ({ newPage }) => {
  const page = await newPage();
  await page.goto("/");
  await page.getByLabel("Email").fill(env("OWNER_EMAIL"));
  await page.getByLabel("Password", { exact: true }).fill(env("OWNER_PASSWORD"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();

  step("opens Contacts from the navigation and imports a messy CSV file");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Contacts" }).click();
  await page.getByRole("heading", { name: "Contacts", exact: true }).waitFor();
  await checkA11y(page, "contacts list");
  await page.getByRole("link", { name: "Import contacts" }).first().click();
  await page.getByRole("heading", { name: "Import contacts" }).waitFor();
  await checkA11y(page, "import form");
  await page.getByLabel("CSV file").setInputFiles(csvFile);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.getByRole("heading", { name: "Import report" }).waitFor();
  const report = page.getByRole("table", { name: /Rows not imported/ });
  const bad = report.getByRole("row", { name: /not a phone/ });
  assert.match(await bad.innerText(), /3\s+not a phone\s+phone contains characters/, "the row, the phone as given, the problem");
  assert.match(await report.getByRole("row", { name: /phone is required/ }).innerText(), /4\s+empty/);
  assert.match(await page.locator(".stat", { hasText: "Added" }).innerText(), /2/);
  assert.match(await page.locator(".stat", { hasText: "Duplicates skipped" }).innerText(), /1/);
  await checkA11y(page, "import report");
  await screenshot(page, "import-report");

  step("searches by name and filters by a tag chip");
  await page.getByRole("link", { name: "See the contacts" }).click();
  const table = page.getByRole("table", { name: /Contacts/ });
  await table.getByRole("link", { name: "Asha Rao" }).waitFor();
  await page.getByLabel("Search contacts").fill("asha");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/q=asha/);
  assert.equal(await table.getByRole("link", { name: "Lee Chen" }).count(), 0, "the search leaves Lee out");
  await table.getByRole("link", { name: "Asha Rao" }).waitFor();
  // The chips keep the search: clear it first.
  await page.getByLabel("Search contacts").fill("");
  await page.getByRole("button", { name: "Search" }).click();
  await table.getByRole("link", { name: "Lee Chen" }).waitFor();
  await page.getByRole("list", { name: "Filter by tag" }).getByRole("link", { name: "vip", exact: true }).click();
  await page.waitForURL(/tag=vip/);
  await table.getByRole("link", { name: "Lee Chen" }).waitFor();
  assert.equal(await table.getByRole("link", { name: "Asha Rao" }).count(), 0, "Asha has no vip tag");
  await checkA11y(page, "filtered contacts");

  step("adds a contact with a bad phone, sees the error next to it, fixes it");
  await page.getByRole("link", { name: "Add contact" }).first().click();
  await page.getByRole("heading", { name: "Add contact" }).waitFor();
  await page.getByLabel("Phone number").fill("12345");
  await page.getByLabel("Name").fill("Priya Nair");
  await page.getByLabel("Tags").fill("patients; vip");
  await page.getByRole("button", { name: "Add contact" }).click();
  await page.locator("#f-phone-error").waitFor();
  assert.equal(await page.getByLabel("Phone number").getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByLabel("Name").inputValue(), "Priya Nair", "the form keeps what was typed");
  await checkA11y(page, "contact form with an error");
  await page.getByLabel("Phone number").fill("+91 98123 45678");
  await page.getByRole("button", { name: "Add contact" }).click();
  await page.getByRole("status").getByText("Contact Priya Nair (+919812345678) added").waitFor();
  await table.getByRole("link", { name: "Priya Nair" }).waitFor();

  step("deletes her after confirming the dialog that names her");
  await table.getByRole("link", { name: "Priya Nair" }).click();
  await page.getByRole("heading", { name: "Edit contact" }).waitFor();
  await checkA11y(page, "edit contact");
  await page.getByRole("button", { name: "Delete contact" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("Delete the contact “Priya Nair (+919812345678)”?").waitFor();
  await dialog.getByRole("button", { name: "Delete contact" }).click();
  await page.getByRole("status").getByText("Contact Priya Nair (+919812345678) deleted").waitFor();
  assert.equal(await table.getByRole("link", { name: "Priya Nair" }).count(), 0);

  step("opens the messages log and one message's history");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Messages" }).click();
  await page.getByRole("heading", { name: "Messages", exact: true }).waitFor();
  const row = page.getByRole("row", { name: /\+14155550101/ });
  assert.match(await row.innerText(), /order_update[\s\S]*read/);
  await checkA11y(page, "messages log");
  await page.getByRole("link", { name: "read", exact: true }).click();
  await page.waitForURL(/status=read/);
  await row.waitFor();
  await row.getByRole("link", { name: "+14155550101" }).click();
  await page.getByRole("heading", { name: "Status history" }).waitFor();
  for (const s of ["queued", "sent", "delivered", "read"]) {
    await page.locator(".steps").getByText(s, { exact: true }).waitFor();
  }
  await checkA11y(page, "message detail");
  await screenshot(page, "message-detail");
});

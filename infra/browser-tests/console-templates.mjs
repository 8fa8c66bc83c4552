// The templates pages as a tenant owner uses them: the empty list, the builder's live preview,
// submitting for review and watching the row turn approved (or rejected, with the reason)
// without reloading, and an invalid template's error next to its field. Environment: BASE_URL,
// EMAIL, PASSWORD (a tenant admin whose WhatsApp is connected).
import assert from "node:assert/strict";
import { scenario, step, checkA11y, screenshot, env } from "./lib.mjs";

const email = env("EMAIL");
const password = env("PASSWORD");

await scenario("console-templates", async ({ newPage }) => {
  const page = await newPage();

  step("signs in and opens Templates: the empty state offers a new template");
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.getByRole("link", { name: "Templates", exact: true }).click();
  await page.getByRole("heading", { name: "Templates", exact: true }).waitFor();
  await page.getByText("No templates yet").waitFor();
  await checkA11y(page, "templates list (empty)");

  step("builds a template: the example field appears for {{1}} and the preview fills it as typed");
  await page.getByRole("link", { name: "New template" }).first().click();
  await page.getByRole("heading", { name: "New template" }).waitFor();
  await checkA11y(page, "template builder");
  const preview = page.getByRole("figure", { name: "Preview on a phone" });
  await page.getByLabel("Name").fill("order_update");
  await page.getByLabel("Category").selectOption("UTILITY");
  await page.getByLabel("Body").fill("Hi {{1}}, your order ships today.");
  const example = page.getByLabel("Example for {{1}}");
  await example.waitFor();
  await preview.locator(".wa-var--missing", { hasText: "{{1}}" }).waitFor();
  await example.fill("Asha");
  await preview.locator(".wa-var", { hasText: "Asha" }).waitFor();
  assert.equal(await example.inputValue(), "Asha", "typing in the example is not interrupted by the preview");
  await page.getByLabel("Footer").fill("Acme Dental");
  await preview.getByText("Acme Dental").waitFor();
  assert.match(await preview.textContent(), /Hi Asha, your order ships today\./);
  await screenshot(page, "builder");

  step("submits: back on the list with a toast, the row turns approved without a reload");
  await page.getByRole("button", { name: "Submit for review" }).click();
  await page.getByRole("status").getByText("Template submitted for review").waitFor();
  const row = page.getByRole("row", { name: /order_update/ });
  await row.waitFor();
  const url = page.url();
  await row.getByText("approved", { exact: true }).waitFor({ timeout: 15_000 });
  assert.equal(page.url(), url, "no navigation happened");
  await checkA11y(page, "templates list");

  step("a template named promo_reject comes back rejected, with Meta's reason");
  await page.getByRole("link", { name: "New template" }).click();
  await page.getByLabel("Name").fill("promo_reject");
  await page.getByLabel("Category").selectOption("MARKETING");
  await page.getByLabel("Body").fill("Hi {{1}}, 20% off this week.");
  await page.getByLabel("Example for {{1}}").fill("Ravi");
  await page.getByRole("button", { name: "Submit for review" }).click();
  const rejected = page.getByRole("row", { name: /promo_reject/ });
  await rejected.getByText("rejected", { exact: true }).waitFor({ timeout: 15_000 });
  await rejected.getByText("Invalid format").waitFor();
  await screenshot(page, "list");

  step("an invalid template shows the domain's error next to the field, keeping what was typed");
  await page.getByRole("link", { name: "New template" }).click();
  await page.getByLabel("Name").fill("Bad Name");
  await page.getByLabel("Body").fill("Hello there");
  await page.getByRole("button", { name: "Submit for review" }).click();
  await page.getByText("must be 1 to 512 lowercase letters, digits or underscores").waitFor();
  const name = page.getByLabel("Name");
  assert.equal(await name.getAttribute("aria-invalid"), "true");
  assert.equal(await name.inputValue(), "Bad Name");
  assert.equal(await page.getByLabel("Body").inputValue(), "Hello there");
  await checkA11y(page, "template builder with errors");
});

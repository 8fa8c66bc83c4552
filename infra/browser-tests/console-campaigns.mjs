// An owner launches a campaign with the wizard and watches it arrive: the template, an audience by
// tag with its live count, {{1}} mapped to the contact's name with the first recipient's preview,
// sent now; the progress page reaches "read" for everyone without a reload; the dashboard lists it.
// Environment: BASE_URL, OWNER_EMAIL, OWNER_PASSWORD (a connected tenant with the approved
// template order_update and the contacts Ana Silva and Ben Okafor tagged vip, one other).
import assert from "node:assert/strict";
import { scenario, step, checkA11y, screenshot, env } from "./lib.mjs";

await scenario("console-campaigns", async ({ newPage }) => {
  const page = await newPage();

  step("signs in and opens Campaigns: nothing yet");
  await page.goto("/");
  await page.getByLabel("Email").fill(env("OWNER_EMAIL"));
  await page.getByLabel("Password", { exact: true }).fill(env("OWNER_PASSWORD"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Campaigns" }).click();
  await page.getByRole("heading", { name: "No campaigns yet" }).waitFor();
  await checkA11y(page, "campaigns, empty");

  step("the wizard: template, audience by tag with its live count");
  await page.getByRole("link", { name: "New campaign" }).first().click();
  await page.getByRole("heading", { name: "New campaign" }).waitFor();
  await checkA11y(page, "campaign wizard");
  await page.getByLabel("Campaign name").fill("Spring orders");
  await page.getByLabel("Template").selectOption({ label: "order_update (en_US)" });
  await page.getByLabel("Contacts with any of these tags").check();
  await page.getByLabel("vip", { exact: true }).check();
  await page.locator("#audience-count").getByText("2 recipients · 0 opted out").waitFor();

  step("maps {{1}} to the contact's name and sees the first recipient's message");
  await page.getByLabel("{{1}} is").selectOption({ label: "the contact's name" });
  await page.getByLabel("Text or attribute key for {{2}}").fill("A-7");
  const preview = page.getByRole("figure", { name: "Preview of the first recipient's message" });
  await preview.getByText("Hi Ana Silva, your order A-7 ships today.").waitFor();
  assert.ok(await page.getByText(/Quota left this month: [\d,]+ messages/).isVisible(), "the quota is shown before sending");
  await checkA11y(page, "campaign wizard, filled");

  step("sends now and watches it reach read without reloading");
  await page.getByRole("button", { name: "Create campaign" }).click();
  await page.getByRole("heading", { name: "Spring orders" }).waitFor();
  await page.getByRole("status").getByText("Campaign started").waitFor();
  const navigations = [];
  page.on("framenavigated", (f) => f === page.mainFrame() && navigations.push(f.url()));
  await page.locator('[data-stage="Read"]').getByText("2", { exact: true }).waitFor({ timeout: 30_000 });
  assert.deepEqual(navigations, [], "the page updated itself");
  await page.locator("#campaign-status").getByText("completed").waitFor();
  assert.ok(await page.getByRole("link", { name: "Messages log" }).isVisible());
  await checkA11y(page, "campaign progress");
  await screenshot(page, "campaign-progress");

  step("the dashboard lists it");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.getByRole("link", { name: "Spring orders" }).waitFor();
  assert.ok(await page.getByRole("img", { name: /Messages per day over the last 30 days: 2 sent/ }).isVisible(), "the chart counts them");
  await checkA11y(page, "dashboard with a campaign");
  await screenshot(page, "dashboard-campaigns");
});

// A tenant owner's account pages, as a person uses them: connects WhatsApp by clicking "Connect
// WhatsApp" (Embedded Signup through the simulator's stand-in for the Facebook SDK: a popup
// that answers like Meta's), watches the steps complete and the chip turn "connected"; creates
// an API key, sees it once and copies it, revokes it after confirming; sets a callback URL; sets
// the business settings (a bad time zone first) and sees its brand colour on the console's
// buttons in light and dark; opens billing. Environment: BASE_URL, OWNER_EMAIL, OWNER_PASSWORD (an activated tenant admin).
import assert from "node:assert/strict";
import { scenario, step, checkA11y as axe, screenshot, env } from "./lib.mjs";

// A toast fading in is measured mid-animation (lighter text): check once animations are over.
async function checkA11y(page, label) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await axe(page, label);
}

const email = env("OWNER_EMAIL");
const password = env("OWNER_PASSWORD");

await scenario("console-settings", async ({ newPage }) => {
  const page = await newPage({ permissions: ["clipboard-read", "clipboard-write"] });

  step("signs in");
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();

  step("opens Connect WhatsApp: nothing connected yet");
  await page.getByRole("link", { name: "Connect WhatsApp" }).click();
  await page.getByRole("heading", { name: "Connect WhatsApp", level: 1 }).waitFor();
  await page.getByText("Not connected yet").waitFor();
  assert.ok(await page.getByRole("link", { name: /WhatsApp not connected/ }).isVisible());
  await checkA11y(page, "connect page, not connected");

  step("clicks Connect WhatsApp: Meta's window answers, the steps complete");
  const button = page.getByRole("button", { name: "Connect WhatsApp" });
  await page.waitForFunction(() => !document.getElementById("connect-button").disabled);
  const popup = page.waitForEvent("popup");
  await button.click();
  assert.match((await popup).url(), /\/dialog\/embedded_signup\?/, "the SDK opened the signup window");
  await page.getByRole("status").getByText("WhatsApp connected").waitFor({ timeout: 30_000 });
  assert.equal(await page.locator(".steps .step--done").count(), 9, "every onboarding step is done");
  assert.equal(await page.locator(".steps .step--failed").count(), 0);
  await page.getByRole("link", { name: /WhatsApp connected/ }).waitFor();
  await page.getByRole("button", { name: "Reconnect WhatsApp" }).waitFor();
  await checkA11y(page, "connect page, connected");
  await screenshot(page, "connected");

  step("creates an API key: shown once, copied");
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("heading", { name: "Settings", exact: true }).waitFor();
  await page.getByText("No API keys yet").waitFor();
  await checkA11y(page, "settings page");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByText("a name of 1 to 100 characters").waitFor();
  assert.equal(await page.getByLabel("Key name").getAttribute("aria-invalid"), "true");
  await page.getByLabel("Key name").fill("ERP production");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByText("you will not see it again").waitFor();
  const key = (await page.locator("#new-api-key").textContent()).trim();
  assert.match(key, /^mip_live_\w{40}$/);
  await page.getByRole("button", { name: "Copy key" }).click();
  await page.getByRole("status").getByText("Copied to clipboard").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key, "the clipboard holds the key");
  await checkA11y(page, "settings with a new key");
  await screenshot(page, "api-key");
  await page.reload();
  await page.getByRole("cell", { name: "ERP production", exact: true }).waitFor();
  assert.equal(await page.getByText(key).count(), 0, "never shown again");

  step("revokes it after confirming, naming it");
  await page.getByRole("button", { name: "Revoke ERP production" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText("Revoke the API key “ERP production”?").waitFor();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.ok(await page.getByRole("cell", { name: "ERP production", exact: true }).isVisible(), "cancel keeps it");
  await page.getByRole("button", { name: "Revoke ERP production" }).click();
  await dialog.getByRole("button", { name: "Revoke key" }).click();
  await page.getByRole("status").getByText("API key “ERP production” revoked").waitFor();
  await page.getByText("No API keys yet").waitFor();

  step("sets a callback URL: the generated secret is shown once");
  await page.getByLabel("Callback URL").fill("ftp://erp.example/hook");
  await page.getByRole("button", { name: "Save callback" }).click();
  await page.locator('#f-url[aria-invalid="true"]').waitFor();
  assert.ok(await page.locator("#f-url-error").isVisible(), "the URL's error is next to it");
  await page.getByLabel("Callback URL").fill("http://127.0.0.1:9/hooks/miping");
  await page.getByRole("button", { name: "Save callback" }).click();
  await page.getByText("Copy the signing secret now: you will not see it again.").waitFor();
  assert.match((await page.locator("#new-callback-secret").textContent()).trim(), /^[0-9a-f]{64}$/);
  await page.getByRole("status").getByText("Callback saved").waitFor();
  await checkA11y(page, "settings with a callback");

  step("sets the business settings: a bad time zone first, then the brand themes the console");
  const save = () => page.getByRole("button", { name: "Save business settings" }).click();
  await page.getByLabel("Time zone", { exact: true }).fill("Mars/Olympus");
  await save();
  await page.getByText("must be an IANA time zone name, e.g. Asia/Kolkata").waitFor();
  assert.equal(await page.getByLabel("Time zone", { exact: true }).getAttribute("aria-invalid"), "true");
  await checkA11y(page, "business settings with an error");
  await page.getByLabel("Time zone", { exact: true }).fill("Asia/Kolkata");
  await page.getByLabel("Default country", { exact: true }).fill("IN");
  await page.getByLabel("Brand name", { exact: true }).fill("Sunrise College");
  await page.getByLabel("Brand colour", { exact: true }).fill("#0b5fff");
  await save();
  await page.getByRole("status").getByText("Business settings saved").waitFor();
  await page.locator(".topbar .brand__name", { hasText: "Sunrise College" }).waitFor();
  assert.equal(await page.getByLabel("Time zone", { exact: true }).inputValue(), "Asia/Kolkata");
  const brandOf = (l) => l.evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
  const saveButton = page.getByRole("button", { name: "Save business settings" });
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    assert.deepEqual(await brandOf(saveButton), ["rgb(11, 95, 255)", "rgb(255, 255, 255)"], `the brand on the primary button (${scheme})`);
    await checkA11y(page, `settings with the brand, ${scheme}`);
  }
  await screenshot(page, "branded-settings");
  await page.emulateMedia({ colorScheme: "light" });

  step("opens billing");
  await page.getByRole("link", { name: "Billing" }).click();
  await page.getByRole("heading", { name: "Billing" }).waitFor();
  assert.match(await page.locator("#balance").textContent(), /^\d+\.\d{2,4} [A-Z]{3}$/, "the balance with its currency");
  await page.getByText("No entries yet").waitFor();
  await checkA11y(page, "billing page");
  await screenshot(page, "billing");
});

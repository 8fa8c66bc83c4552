// The console's signed-out life, as a person does it: the emailed one-time password, the forced
// change, the dashboard, signing out, a forgotten password from the emailed link, and the same
// sign-in with JavaScript off. Environment: BASE_URL, OUTBOX_DIR, OWNER_EMAIL (a provisioned
// tenant admin who has not signed in yet).
import assert from "node:assert/strict";
import { scenario, step, checkA11y, screenshot, newestEmail, env } from "./lib.mjs";

const owner = env("OWNER_EMAIL");

await scenario("console-auth", async ({ newPage }) => {
  const page = await newPage();

  step("reads the welcome email and signs in with its one-time password");
  const welcome = await newestEmail({ to: owner });
  const oneTime = /One-time password: (\S+)/.exec(welcome.text)[1];
  const loginUrl = /Log in at: (\S+)/.exec(welcome.text)[1];
  // The link's path (the test platform's public URL is the default, not its own port).
  assert.equal(new URL(loginUrl).pathname, "/", "the welcome email links to the console's start page");
  await page.goto(new URL(loginUrl).pathname);
  await checkA11y(page, "sign-in page");
  await page.getByLabel("Email").fill(owner);
  await page.getByLabel("Password", { exact: true }).fill("not it");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("Wrong email or password.").waitFor();
  assert.equal(await page.getByLabel("Email").inputValue(), owner, "the form keeps the email");
  await page.getByLabel("Password", { exact: true }).fill(oneTime);
  await page.getByRole("button", { name: "Sign in" }).click();

  step("must choose a password first");
  await page.getByRole("heading", { name: "Change your password" }).waitFor();
  await checkA11y(page, "change-password page");
  await page.getByLabel("Current password").fill(oneTime);
  await page.getByLabel("New password", { exact: true }).fill("a long new passphrase");
  await page.getByLabel("Repeat the new password").fill("something else entirely");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("does not match the new password").waitFor();
  assert.equal(await page.getByLabel("Repeat the new password").getAttribute("aria-invalid"), "true");
  await page.getByLabel("Current password").fill(oneTime);
  await page.getByLabel("New password", { exact: true }).fill("a long new passphrase");
  await page.getByLabel("Repeat the new password").fill("a long new passphrase");
  await page.getByRole("button", { name: "Change password" }).click();

  step("lands on the dashboard with a toast");
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.getByRole("status").getByText("Password changed").waitFor();
  assert.ok(await page.getByRole("link", { name: /WhatsApp not connected/ }).isVisible(), "the status chip says it");
  await checkA11y(page, "dashboard");
  await screenshot(page, "dashboard");

  step("signs out from the menu");
  await page.locator("summary", { hasText: "Owner" }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();

  step("forgot the password: asks for a link, opens it from the email, chooses a new one");
  const before = (await newestEmail({ to: owner })).file;
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await checkA11y(page, "forgot-password page");
  await page.getByLabel("Email").fill(owner);
  await page.getByRole("button", { name: "Send the link" }).click();
  await page.getByText(`If an account exists for ${owner}`).waitFor();
  const reset = await newestEmail({ to: owner, after: before });
  const link = /(http\S+\/reset-password#token=\S+)/.exec(reset.text)[1];
  const u = new URL(link);
  await page.goto(u.pathname + u.hash);
  assert.ok(!(await page.getByLabel(/Reset code/).isVisible()), "the token from the link needs no typing");
  assert.ok(!page.url().includes("token="), "the token leaves the address bar");
  await checkA11y(page, "reset-password page");
  await page.getByLabel("New password", { exact: true }).fill("my reset passphrase");
  await page.getByLabel("Repeat the new password").fill("my reset passphrase");
  await page.getByRole("button", { name: "Set the password" }).click();
  await page.getByText("Sign in with your new password").waitFor();
  await page.getByLabel("Email").fill(owner);
  await page.getByLabel("Password", { exact: true }).fill("my reset passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();

  step("without JavaScript, signing in is an ordinary form post");
  const plain = await newPage({ javaScriptEnabled: false });
  await plain.goto("/");
  await plain.getByLabel("Email").fill(owner);
  await plain.getByLabel("Password", { exact: true }).fill("my reset passphrase");
  await plain.getByRole("button", { name: "Sign in" }).click();
  await plain.getByRole("heading", { name: "Dashboard" }).waitFor();
});

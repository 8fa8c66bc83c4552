// A tenant owner's team, as a person manages it: opens Members from the navigation, invites an
// agent (a mistake first: the error shows next to the field), the agent signs in from the
// emailed one-time password in their own browser and must choose a password; the owner makes
// them an admin and back, deactivates and reactivates them, and removes them after confirming.
// Environment: BASE_URL, OUTBOX_DIR, OWNER_EMAIL, OWNER_PASSWORD (an activated tenant admin).
import assert from "node:assert/strict";
import { scenario, step, checkA11y as axe, screenshot, newestEmail, env } from "./lib.mjs";

// A toast fading in is measured mid-animation (lighter text): check once animations are over.
async function checkA11y(page, label) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await axe(page, label);
}

const email = env("OWNER_EMAIL");
const password = env("OWNER_PASSWORD");
const agent = "ravi@team.test";

await scenario("console-members", async ({ newPage }) => {
  const page = await newPage();

  step("signs in and opens Members");
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.getByRole("link", { name: "Members" }).click();
  await page.getByRole("heading", { name: "Members", level: 1 }).waitFor();
  await page.getByRole("cell", { name: email, exact: true }).waitFor();
  await checkA11y(page, "members page");

  step("invites an agent: a mistake first, shown next to the field");
  await page.getByLabel("Email").fill("ravi@team");
  await page.getByLabel("Name").fill("Ravi Kumar");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await page.getByText("is not an email address").waitFor();
  assert.equal(await page.getByLabel("Email").getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByLabel("Name").inputValue(), "Ravi Kumar", "the form keeps what was typed");
  await checkA11y(page, "invite form with an error");
  await page.getByLabel("Email").fill(agent);
  await page.getByLabel("Role").selectOption("TENANT_AGENT");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await page.getByRole("status").getByText(`Invitation sent to ${agent}`).waitFor();
  await page.getByRole("cell", { name: agent, exact: true }).waitFor();
  await screenshot(page, "invited");

  step("the agent signs in from the emailed password and must choose their own");
  const mail = await newestEmail({ to: agent });
  const oneTime = /One-time password: (\S+)/.exec(mail.text)[1];
  const theirs = await newPage();
  await theirs.goto("/");
  await theirs.getByLabel("Email").fill(agent);
  await theirs.getByLabel("Password", { exact: true }).fill(oneTime);
  await theirs.getByRole("button", { name: "Sign in" }).click();
  await theirs.getByRole("heading", { name: "Change your password" }).waitFor();
  await theirs.getByLabel("Current password").fill(oneTime);
  await theirs.getByLabel("New password", { exact: true }).fill("the agent's own passphrase");
  await theirs.getByLabel("Repeat the new password").fill("the agent's own passphrase");
  await theirs.getByRole("button", { name: "Change password" }).click();
  await theirs.getByRole("heading", { name: "Inbox", level: 1 }).waitFor();
  await checkA11y(theirs, "agent start page (the inbox)");
  await theirs.goto("/app/members");
  await theirs.getByText("Your role cannot open this page").waitFor();

  step("makes them an admin, then an agent again");
  await page.reload();
  await page.getByRole("button", { name: "Make admin: Ravi Kumar" }).click();
  await page.getByRole("status").getByText("Ravi Kumar is now an admin").waitFor();
  await page.getByRole("button", { name: "Make agent: Ravi Kumar" }).click();
  await page.getByRole("status").getByText("Ravi Kumar is now an agent").waitFor();

  step("the last admin cannot step down: the reason shows");
  const me = (await page.getByRole("cell", { name: /\(you\)/ }).textContent()).replace("(you)", "").trim();
  await page.getByRole("button", { name: `Make agent: ${me}` }).click();
  await page.getByText("A tenant keeps at least one active admin").waitFor();
  await checkA11y(page, "members page with a refusal");

  step("deactivates and reactivates them");
  await page.goto("/app/members");
  await page.getByRole("button", { name: "Deactivate Ravi Kumar" }).click();
  await page.getByRole("status").getByText("Ravi Kumar deactivated").waitFor();
  await page.getByText("deactivated", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Reactivate Ravi Kumar" }).click();
  await page.getByRole("status").getByText("Ravi Kumar reactivated").waitFor();

  step("removes them after confirming, naming them");
  await page.getByRole("button", { name: "Remove Ravi Kumar" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText(`Remove Ravi Kumar (${agent})?`).waitFor();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.ok(await page.getByRole("cell", { name: agent, exact: true }).isVisible(), "cancel keeps them");
  await page.getByRole("button", { name: "Remove Ravi Kumar" }).click();
  await dialog.getByRole("button", { name: "Remove member" }).click();
  await page.getByRole("status").getByText("Ravi Kumar removed").waitFor();
  assert.equal(await page.getByRole("cell", { name: agent, exact: true }).count(), 0);
  await checkA11y(page, "members page after a removal");
});

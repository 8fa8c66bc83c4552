// A team answers a customer (issue 17): the owner invites an agent on Members; the agent signs in
// from the emailed one-time password and chooses their own, landing in the inbox; a customer
// writes (the simulator's POST /_sim/inbound) and the message appears in the agent's open inbox
// without a reload, the tab title counting it; the agent takes the conversation and replies with
// a canned reply (typing "/" offers it), which the customer's phone (the simulator) receives; the
// agent resolves; once the 24 h window has closed (the test ages it), the reply box is a
// template picker and the agent sends a template.
// Environment: BASE_URL, OUTBOX_DIR, OWNER_EMAIL, OWNER_PASSWORD (a connected tenant's admin with
// the approved template order_update and the canned reply /fees), SIM_URL, PHONE_NUMBER_ID,
// CUSTOMER (the customer's number, digits).
import assert from "node:assert/strict";
import { scenario, step, checkA11ySettled as checkA11y, screenshot, newestEmail, env, waitFor } from "./lib.mjs";

const email = env("OWNER_EMAIL");
const password = env("OWNER_PASSWORD");
const sim = env("SIM_URL");
const phoneNumberId = env("PHONE_NUMBER_ID");
const customer = env("CUSTOMER");
const customerName = `Customer ${customer.slice(-4)}`;
const agent = "meera@team.test";

/** What the customer's phone has received (the simulator's record of sent messages). */
async function received() {
  const r = await fetch(`${sim}/_sim/messages?to=${customer}`);
  assert.equal(r.status, 200);
  return (await r.json()).data;
}

await scenario("console-inbox", async ({ newPage }) => {
  const page = await newPage();

  step("the owner invites an agent on Members");
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.getByRole("link", { name: "Members" }).click();
  await page.getByLabel("Email").fill(agent);
  await page.getByLabel("Name").fill("Meera Nair");
  await page.getByLabel("Role").selectOption("TENANT_AGENT");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await page.getByRole("status").getByText(`Invitation sent to ${agent}`).waitFor();

  step("the agent signs in from the emailed password, chooses their own and lands in the inbox");
  const mail = await newestEmail({ to: agent });
  const oneTime = /One-time password: (\S+)/.exec(mail.text)[1];
  const inbox = await newPage();
  await inbox.goto("/");
  await inbox.getByLabel("Email").fill(agent);
  await inbox.getByLabel("Password", { exact: true }).fill(oneTime);
  await inbox.getByRole("button", { name: "Sign in" }).click();
  await inbox.getByRole("heading", { name: "Change your password" }).waitFor();
  await inbox.getByLabel("Current password").fill(oneTime);
  await inbox.getByLabel("New password", { exact: true }).fill("meera's own passphrase");
  await inbox.getByLabel("Repeat the new password").fill("meera's own passphrase");
  await inbox.getByRole("button", { name: "Change password" }).click();
  await inbox.getByRole("heading", { name: "Inbox", level: 1 }).waitFor();
  assert.match(new URL(inbox.url()).pathname, /^\/app\/inbox$/);
  const nav = inbox.getByRole("navigation", { name: "Main" });
  assert.deepEqual(await nav.getByRole("link").allTextContents(), ["Inbox", "Contacts"], "an agent's navigation");
  await inbox.getByText("Nothing assigned to you").waitFor();
  await checkA11y(inbox, "an agent's empty inbox");
  await inbox.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Unassigned" }).click();
  await inbox.getByText("No one is waiting").waitFor();

  step("a customer writes: the message appears in the open inbox without a reload");
  await inbox.evaluate(() => { window.stillTheSamePage = true; });
  const r = await fetch(`${sim}/_sim/inbound`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ phone_number_id: phoneNumberId, from: customer, text: "Can I pay the fee tomorrow?" }),
  });
  assert.ok(r.ok, `the simulator took the message (${r.status})`);
  const sent = Date.now();
  const row = inbox.getByRole("link", { name: new RegExp(`${customerName}.*Can I pay the fee tomorrow\\?`) });
  await row.waitFor({ timeout: 10_000 });
  const took = Date.now() - sent;
  // Reported, not asserted: SPEC's 3 s is a performance target, measured by `infra/bench.sh inbox`
  // on a quiet machine; here the browser shares 2 cores with the whole suite (3.2 s was seen).
  step(`shown ${took} ms after the customer wrote (the page polls every 2 s)`);
  assert.equal(await inbox.evaluate(() => window.stillTheSamePage), true, "no reload");
  await waitFor(async () => /^\(1\) Inbox/.test(await inbox.title()), { message: "the unread count in the tab title" });
  await row.getByText("1 unread").waitFor();
  await screenshot(inbox, "new-message");
  await checkA11y(inbox, "inbox with a new conversation");

  step("the agent opens the conversation and takes it");
  await row.click();
  await inbox.getByRole("region", { name: "Conversation" }).getByRole("heading", { name: customerName }).waitFor();
  await inbox.getByRole("log").getByText("Can I pay the fee tomorrow?").waitFor();
  await inbox.getByText(/Reply window closes in 2[34] h/).waitFor();
  await inbox.getByRole("button", { name: "Assign to me" }).click();
  await inbox.getByRole("status").getByText("Assigned to you").waitFor();
  await inbox.getByText("assigned to you").first().waitFor();
  await checkA11y(inbox, "a conversation");

  step("replies with a canned reply: typing / offers it");
  const reply = inbox.getByLabel(`Reply to ${customerName}`);
  await reply.click();
  await reply.pressSequentially("/fe");
  await inbox.getByRole("button", { name: /\/fees/ }).click();
  const text = `Hi ${customerName}, the fee can be paid until Friday.`;
  await waitFor(async () => (await inbox.getByLabel(`Reply to ${customerName}`).inputValue()) === text, { message: "the canned reply rendered for the contact" });
  await inbox.getByRole("button", { name: "Send", exact: true }).click();
  await inbox.getByRole("status").getByText("Message sent").waitFor();
  await inbox.getByRole("log").getByText(text).waitFor();
  assert.equal(await inbox.getByLabel(`Reply to ${customerName}`).inputValue(), "", "the reply box is empty again");

  step("the customer's phone receives it, and the ticks follow");
  await waitFor(async () => (await received()).some((m) => m.body?.text?.body === text), { message: "the reply on the customer's phone" });
  await inbox.getByRole("log").getByRole("img", { name: /delivered|read/ }).first().waitFor();
  await screenshot(inbox, "replied");

  step("the agent resolves the conversation");
  await inbox.getByRole("button", { name: "Resolve" }).click();
  await inbox.getByRole("status").getByText("Conversation resolved").waitFor();
  await inbox.getByRole("button", { name: "Reopen" }).waitFor();

  step("24 hours later the window is closed: only a template can be sent");
  // The test ages the conversation once it is resolved; the open page's poll shows it.
  await inbox.getByText("The 24-hour reply window is closed").waitFor({ timeout: 15_000 });
  await inbox.reload();
  assert.equal(await inbox.getByLabel(`Reply to ${customerName}`).count(), 0, "no free-text box");
  assert.equal(await inbox.getByLabel("Template").inputValue(), "order_update|en_US");
  await inbox.getByLabel("Variable {{1}}").fill("Meera");
  await inbox.getByLabel("Variable {{2}}").fill("FEE-2026");
  await checkA11y(inbox, "the template picker");
  await inbox.getByRole("button", { name: "Send template" }).click();
  await inbox.getByRole("status").getByText("Message sent").waitFor();
  await inbox.getByRole("log").getByText("Template “order_update”").waitFor();
  await waitFor(async () => (await received()).some((m) => m.body?.template?.name === "order_update"), { message: "the template on the customer's phone" });
  await screenshot(inbox, "template-sent");
});

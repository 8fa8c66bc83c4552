// Media in the inbox (issue 18): a customer sends a photo (the simulator's POST /_sim/inbound with
// type "image"); the agent sees it in the thread — a real decoded image, not a placeholder — and
// replies with a PDF chosen in the reply box's file input; the customer's phone (the simulator)
// receives exactly those bytes and the thread shows the document; a file dragged onto the
// conversation lands in the file input.
// Environment: BASE_URL, AGENT_EMAIL, AGENT_PASSWORD (an active agent of a connected tenant),
// SIM_URL, PHONE_NUMBER_ID, CUSTOMER (the customer's number, digits).
import assert from "node:assert/strict";
import { scenario, step, checkA11ySettled as checkA11y, screenshot, env, waitFor } from "./lib.mjs";

const email = env("AGENT_EMAIL");
const password = env("AGENT_PASSWORD");
const sim = env("SIM_URL");
const phoneNumberId = env("PHONE_NUMBER_ID");
const customer = env("CUSTOMER");
const pdf = Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", "latin1");

/** What the customer's phone has received (the simulator's record of sent messages). */
async function received() {
  const r = await fetch(`${sim}/_sim/messages?to=${customer}`);
  assert.equal(r.status, 200);
  return (await r.json()).data;
}

await scenario("console-media", async ({ newPage }) => {
  const inbox = await newPage();

  step("the agent signs in and opens the unassigned conversations");
  await inbox.goto("/");
  await inbox.getByLabel("Email").fill(email);
  await inbox.getByLabel("Password", { exact: true }).fill(password);
  await inbox.getByRole("button", { name: "Sign in" }).click();
  await inbox.getByRole("heading", { name: "Inbox", level: 1 }).waitFor();
  await inbox.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Unassigned" }).click();
  await inbox.getByText("No one is waiting").waitFor();

  step("a customer sends a photo: it shows in the list, then in the thread as an image");
  const r = await fetch(`${sim}/_sim/inbound`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ phone_number_id: phoneNumberId, from: customer, type: "image" }),
  });
  assert.ok(r.ok, `the simulator took the photo (${r.status})`);
  const row = inbox.getByRole("link", { name: new RegExp(customer.slice(-4)) }).first();
  await row.waitFor({ timeout: 10_000 });
  await row.click();
  const log = inbox.getByRole("log");
  const photo = log.getByRole("img", { name: /^Photo from / });
  // "Downloading the photo from WhatsApp…" until the fetch is done; the poll swaps the image in.
  await photo.waitFor({ timeout: 15_000 });
  await waitFor(() => photo.evaluate((img) => img.complete && img.naturalWidth > 0), { message: "the photo decoded (naturalWidth > 0)" });
  const src = await photo.getAttribute("src");
  assert.match(src, /^\/app\/media\/med_/, "served by the console");
  await screenshot(inbox, "photo");
  await checkA11y(inbox, "a conversation with a photo");

  step("the agent replies with a PDF from the file input, with a caption");
  await inbox.getByLabel(/Attach a file/).setInputFiles({ name: "invoice-42.pdf", mimeType: "application/pdf", buffer: pdf });
  await inbox.getByLabel(/^Reply to /).fill("Your invoice");
  await inbox.getByRole("button", { name: "Send", exact: true }).click();
  await inbox.getByRole("status").getByText("Message sent").waitFor();
  const doc = log.getByRole("link", { name: /invoice-42\.pdf/ });
  await doc.waitFor();
  await log.getByText("Your invoice").waitFor();
  assert.match(await doc.getAttribute("href"), /^\/app\/media\/med_/);
  assert.equal(await inbox.getByLabel(/Attach a file/).inputValue(), "", "the file input is empty again");

  step("the customer's phone received the document: the same bytes, its name and caption");
  const sent = await waitFor(async () => (await received()).find((m) => m.media?.[0]?.filename === "invoice-42.pdf"), { timeout: 20_000, message: "the PDF on the customer's phone" });
  assert.equal(sent.media[0].kind, "document");
  assert.equal(sent.media[0].caption, "Your invoice");
  const bytes = await fetch(`${sim}/_sim/media/${sent.media[0].id}/bytes`);
  assert.equal(bytes.status, 200);
  assert.deepEqual(Buffer.from(await bytes.arrayBuffer()), pdf, "the bytes Meta received");
  await log.getByRole("img", { name: /sent|delivered|read/ }).last().waitFor();

  step("a file dragged onto the conversation goes into the file input");
  const dropped = await inbox.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["%PDF-1.7\n%%EOF\n"], "price-list.pdf", { type: "application/pdf" }));
    return dt;
  });
  const pane = inbox.getByRole("region", { name: "Conversation", exact: true });
  await pane.dispatchEvent("dragover", { dataTransfer: dropped });
  assert.ok(await pane.evaluate((el) => el.classList.contains("is-dropping")), "the drop target is marked");
  await pane.dispatchEvent("drop", { dataTransfer: dropped });
  await inbox.getByRole("status").getByText("price-list.pdf attached: press Send").waitFor();
  // The toast asks for Send: it must not lie on top of it (toasts sit at the top on the inbox).
  const uncovered = await inbox.getByRole("button", { name: "Send", exact: true }).evaluate((b) => {
    const r = b.getBoundingClientRect();
    const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    return b === hit || b.contains(hit) || hit?.outerHTML.slice(0, 80);
  });
  assert.equal(uncovered, true, "the Send button is the element under its own centre while the toast shows");
  assert.equal(await inbox.getByLabel(/Attach a file/).evaluate((input) => input.files[0]?.name), "price-list.pdf");
  assert.ok(!(await pane.evaluate((el) => el.classList.contains("is-dropping"))));
  await inbox.getByLabel(/Attach a file/).setInputFiles([]);

  step("the document downloads from the thread");
  const [download] = await Promise.all([inbox.waitForEvent("download"), doc.click()]);
  assert.equal(download.suggestedFilename(), "invoice-42.pdf");
  await screenshot(inbox, "document-sent");
  await checkA11y(inbox, "a conversation with a photo and a document");
  await inbox.emulateMedia({ colorScheme: "dark" });
  await screenshot(inbox, "document-sent-dark");
  await checkA11y(inbox, "the same conversation in dark mode");
});

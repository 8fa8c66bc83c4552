// Templates with a media header (issue 18) as a tenant owner uses them: builds an image-header
// template, choosing the header type and its sample file (uploaded to Meta's Resumable Upload API
// on submit) while the preview shows the image's place; creates a campaign with it, uploading the
// image in the header picker and seeing it in the first recipient's preview; launches it and the
// customer's phone (the simulator) receives that image; then replies in the inbox, the 24 h window
// closed, with a document-header template and its PDF. Light and dark, axe-core clean.
// Environment: BASE_URL, OWNER_EMAIL, OWNER_PASSWORD (a tenant admin, WhatsApp connected, with an
// approved "invoice_pdf" template: a DOCUMENT header, "Hi {{1}}, your invoice {{2}} is attached."),
// SIM_URL, CUSTOMER (digits: the only contact, who wrote 25 h ago), CONVERSATION (their conversation).
import assert from "node:assert/strict";
import { scenario, step, checkA11ySettled as checkA11y, screenshot, env, waitFor } from "./lib.mjs";

const email = env("OWNER_EMAIL");
const password = env("OWNER_PASSWORD");
const sim = env("SIM_URL");
const customer = env("CUSTOMER");
const conversation = env("CONVERSATION");
// A real 1×1 PNG: the thread shows the campaign's image decoded.
const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const pdf = Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", "latin1");

/** What the customer's phone has received (the simulator's record of sent messages). */
async function received() {
  const r = await fetch(`${sim}/_sim/messages?to=${customer}`);
  assert.equal(r.status, 200);
  return (await r.json()).data;
}

/** The bytes Meta holds for its media id. */
async function bytes(id) {
  const r = await fetch(`${sim}/_sim/media/${id}/bytes`);
  assert.equal(r.status, 200);
  return Buffer.from(await r.arrayBuffer());
}

await scenario("console-media-headers", async ({ newPage }) => {
  const page = await newPage();

  step("signs in and builds a template with an image header: the sample's input and the preview's image box appear");
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.goto("/app/templates/new");
  await page.getByRole("heading", { name: "New template" }).waitFor();
  const preview = page.getByRole("figure", { name: "Preview on a phone" });
  await page.getByLabel("Name").fill("menu_photo");
  await page.getByLabel("Category").selectOption("MARKETING");
  await page.getByLabel("Header (optional)").selectOption({ label: "Image" });
  const sample = page.getByLabel("Sample image for Meta's review");
  await sample.waitFor();
  assert.equal(await sample.getAttribute("accept"), "image/jpeg,image/png", "only images are offered");
  await sample.setInputFiles({ name: "menu.png", mimeType: "image/png", buffer: png });
  await page.getByLabel("Body").fill("Hi {{1}}, our new menu is here.");
  await page.getByLabel("Example for {{1}}").fill("Asha");
  await preview.getByText("Image header").waitFor();
  await preview.locator(".wa-var", { hasText: "Asha" }).waitFor();
  assert.equal(await sample.evaluate((input) => input.files[0]?.name), "menu.png", "the chosen file survives the preview's updates");
  await screenshot(page, "builder-image-header");
  await checkA11y(page, "template builder with an image header");

  step("submits: the sample goes to Meta and the template is approved");
  await page.getByRole("button", { name: "Submit for review" }).click();
  await page.getByRole("status").getByText("Template submitted for review").waitFor();
  await page.getByRole("row", { name: /menu_photo/ }).getByText("approved", { exact: true }).waitFor({ timeout: 15_000 });

  step("a new campaign with it: the header picker takes the image, the first recipient's preview shows it");
  await page.goto("/app/campaigns/new");
  await page.getByLabel("Campaign name").fill("Menu launch");
  await page.getByLabel("Template").selectOption({ label: "menu_photo (en)" });
  const file = page.getByLabel("Image file");
  await file.waitFor();
  await page.getByLabel("Text or attribute key for {{1}}").fill("Asha");
  await page.getByText("Image: not chosen yet").waitFor();
  await file.setInputFiles({ name: "menu.png", mimeType: "image/png", buffer: png });
  await page.getByRole("button", { name: "Update count and preview" }).click();
  const phone = page.getByRole("figure", { name: "Preview of the first recipient's message" });
  await phone.getByText("Image: menu.png").waitFor();
  await phone.getByText("Hi Asha, our new menu is here.").waitFor();
  await page.getByText("“menu.png” is uploaded: choose another file only to replace it.").waitFor();
  await screenshot(page, "campaign-image-header");
  await checkA11y(page, "campaign wizard with the header picker");
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot(page, "campaign-image-header-dark");
  await checkA11y(page, "campaign wizard with the header picker, dark");
  await page.emulateMedia({ colorScheme: "light" });

  step("sends a test of it to one number first");
  await page.getByLabel("Test number").fill("+14155500099");
  await page.getByRole("button", { name: "Send test" }).click();
  await page.getByRole("status").getByText("Test sent to +14155500099").first().waitFor();
  await phone.getByText("Image: menu.png").waitFor();

  step("creates it: started, and the customer's phone receives the image by Meta's id");
  await page.getByRole("button", { name: "Create campaign" }).click();
  await page.getByRole("status").getByText("Campaign started").waitFor();
  await page.getByRole("heading", { name: "Menu launch" }).waitFor();
  const photo = await waitFor(async () => (await received()).find((m) => m.media?.[0]?.kind === "image"), { timeout: 20_000, message: "the image on the customer's phone" });
  assert.equal(photo.media[0].slot, "header");
  assert.equal(photo.body.template.name, "menu_photo");
  assert.deepEqual(await bytes(photo.media[0].id), png, "the uploaded image's bytes");
  // Every recipient done (the test's number is a contact now too, so the audience counts it).
  await page.getByText(/^(\d+) of \1 recipients done/).waitFor({ timeout: 15_000 });

  step("replies in the inbox with the invoice_pdf template: its header's file input takes the PDF");
  await page.goto(`/app/inbox/${conversation}`);
  await page.getByLabel("Template", { exact: true }).selectOption({ label: "invoice_pdf (en_US)" });
  await page.getByRole("button", { name: "Use this template" }).click();
  const header = page.getByLabel("Document for the header");
  await header.waitFor();
  await page.getByLabel("Variable {{1}}").fill("Asha");
  await page.getByLabel("Variable {{2}}").fill("INV-42");
  assert.equal(await page.getByLabel("Header variable").count(), 0, "the header is the file, not a variable");
  await page.getByRole("button", { name: "Send template" }).click();
  await page.getByText("choose the file this template's header sends").waitFor();
  assert.equal(await page.getByLabel("Document for the header").getAttribute("aria-invalid"), "true");
  await checkA11y(page, "template reply with the header's error");
  await page.getByLabel("Document for the header").setInputFiles({ name: "invoice-42.pdf", mimeType: "application/pdf", buffer: pdf });
  await page.getByRole("button", { name: "Send template" }).click();
  await page.getByRole("status").getByText("Message sent").waitFor();
  await page.getByRole("log").getByRole("link", { name: /invoice-42\.pdf/ }).waitFor();

  step("the customer's phone received the PDF in the template's header");
  const invoice = await waitFor(async () => (await received()).find((m) => m.media?.[0]?.kind === "document"), { timeout: 20_000, message: "the invoice on the customer's phone" });
  assert.equal(invoice.media[0].filename, "invoice-42.pdf");
  assert.equal(invoice.body.template.components[1].parameters[1].text, "INV-42");
  assert.deepEqual(await bytes(invoice.media[0].id), pdf, "the PDF's bytes");
  await screenshot(page, "inbox-document-template");
  await checkA11y(page, "inbox after a document-header template");
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot(page, "inbox-document-template-dark");
  await checkA11y(page, "inbox after a document-header template, dark");
});

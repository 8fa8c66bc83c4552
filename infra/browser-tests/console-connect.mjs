// Connect WhatsApp's other paths in the console: the person closes Meta's window (nothing is
// posted, the page says where it stopped), then connects, then disconnects after a confirmation
// naming the number; without JavaScript the page says Meta's window needs it. Environment:
// BASE_URL, OWNER_EMAIL, OWNER_PASSWORD (an activated tenant admin).
import assert from "node:assert/strict";
import { scenario, step, checkA11y as axe, env } from "./lib.mjs";

const email = env("OWNER_EMAIL");
const password = env("OWNER_PASSWORD");

async function checkA11y(page, label) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await axe(page, label);
}

async function signIn(page) {
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
}

await scenario("console-connect", async ({ newPage }) => {
  const page = await newPage();
  await signIn(page);
  const posts = [];
  page.on("request", (r) => { if (r.method() === "POST" && r.url().endsWith("/app/connect/code")) posts.push(r.postData()); });

  step("closes Meta's window: nothing is connected, the page says where it stopped");
  await page.goto("/app/connect");
  await page.waitForFunction(() => window.FB && !document.getElementById("connect-button").disabled);
  await page.evaluate(() => { window.FB.__sim.scenario = "cancel"; });
  await page.getByRole("button", { name: "Connect WhatsApp" }).click();
  await page.getByText(/Signup was closed at step/).waitFor();
  assert.equal(posts.length, 0, "no code was posted");

  step("connects: the code and the session info's ids are posted");
  await page.evaluate(() => { window.FB.__sim.scenario = "finish"; });
  await page.getByRole("button", { name: "Connect WhatsApp" }).click();
  await page.getByRole("status").getByText("WhatsApp connected").waitFor({ timeout: 30_000 });
  assert.equal(posts.length, 1);
  const sent = new URLSearchParams(posts[0]);
  assert.ok(sent.get("code") && /^\d+$/.test(sent.get("waba_id")) && /^\d+$/.test(sent.get("phone_number_id")), posts[0]);
  const number = (await page.locator("dt:text('Number') + dd").textContent()).trim();

  step("disconnects after a confirmation naming the number");
  await page.getByRole("button", { name: "Disconnect" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText(`Disconnect ${number}?`).waitFor();
  await checkA11y(page, "disconnect dialog");
  await dialog.getByRole("button", { name: "Disconnect" }).click();
  await page.getByRole("status").getByText("WhatsApp disconnected").waitFor();
  await page.getByRole("link", { name: /WhatsApp disconnected/ }).waitFor();
  await checkA11y(page, "connect page, disconnected");

  step("without JavaScript the page explains that Meta's window needs it");
  const plain = await newPage({ javaScriptEnabled: false });
  await signIn(plain);
  await plain.goto("/app/connect");
  assert.equal(await plain.getByRole("button", { name: /Connect WhatsApp/ }).count(), 0, "no button that cannot work");
  await plain.getByRole("heading", { name: "Onboarding steps" }).waitFor();
  await plain.getByText("Meta's window needs JavaScript in this browser.").waitFor();
});

// Every console page as its person sees it, in light and in dark: the tenant owner's pages and
// the platform owner's, each opened from the navigation (a person's way in), a screenshot saved
// for review and axe-core run on it. The other scenarios drive each page's tasks; this one makes
// sure no page is only checked in one theme. Environment: BASE_URL, OWNER_EMAIL, OWNER_PASSWORD,
// ADMIN_EMAIL, ADMIN_PASSWORD, CANNED_REPLY_PATH (a canned reply's edit page).
import { scenario, step, checkA11y as axe, screenshot, env } from "./lib.mjs";

async function checkA11y(page, label) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  await axe(page, label);
}

const OWNER_PAGES = [
  ["Dashboard", "Dashboard"],
  ["Inbox", "Inbox"],
  ["Contacts", "Contacts"],
  ["Templates", "Templates"],
  ["Campaigns", "Campaigns"],
  ["Messages", "Messages"],
  ["Analytics", "Analytics"],
  ["Members", "Members"],
  ["Canned replies", "Canned replies"],
  ["Settings", "Settings"],
  ["Billing", "Billing"],
  ["Audit log", "Audit log"],
];
// Pages reached from a page's primary action rather than the navigation.
const OWNER_FORMS = ["/app/connect", "/app/contacts/new", "/app/contacts/import", "/app/templates/new", "/app/campaigns/new"];
const ADMIN_FORMS = ["/app/tenants/new", "/app/plans/new", "/app/library/new"];
const ADMIN_PAGES = [
  ["Tenants", "Tenants"],
  ["Platform analytics", "Platform analytics"],
  ["Plans", "Plans"],
  ["Library templates", "Library templates"],
  ["Webhook quarantine", "Webhook quarantine"],
  ["Audit log", "Audit log"],
];

async function tour(newPage, scheme, email, password, pages, forms, start) {
  const page = await newPage({ colorScheme: scheme });
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: start, level: 1 }).waitFor();
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const [link, heading] of pages) {
    step(`${scheme}: ${link}`);
    await nav.getByRole("link", { name: link, exact: true }).click();
    await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
    await screenshot(page, `${scheme}-${link.toLowerCase().replaceAll(" ", "-")}`);
    await checkA11y(page, `${link} (${scheme})`);
  }
  for (const path of forms) {
    step(`${scheme}: ${path}`);
    await page.goto(path);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await screenshot(page, `${scheme}${path.replaceAll("/", "-")}`);
    await checkA11y(page, `${path} (${scheme})`);
  }
  await page.context().close();
}

await scenario("console-tour", async ({ newPage }) => {
  for (const scheme of ["light", "dark"]) {
    const ownerForms = [...OWNER_FORMS, env("CANNED_REPLY_PATH")];
    await tour(newPage, scheme, env("OWNER_EMAIL"), env("OWNER_PASSWORD"), OWNER_PAGES, ownerForms, "Dashboard");
    await tour(newPage, scheme, env("ADMIN_EMAIL"), env("ADMIN_PASSWORD"), ADMIN_PAGES, ADMIN_FORMS, "Tenants");
  }
});

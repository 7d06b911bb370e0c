// The newcomer's first hour, on a fresh database, as a person would click
// through it: the setup page → the organization's details → a product with
// a price → a lead → qualify → the product on the opportunity → a quote,
// activated → its PDF → a phone call logged on the account → Russian.
// Counts the clicks and pages from the setup link to the quote's PDF and
// fails on any error message or 4xx/5xx on the way.
//
// Env: RELATA_SETUP_URL (the one-time link), RELATA_TAG.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, checkPage, finish, info, need, newContext, path, screen, step, using } from "./lib.mjs";

const SETUP = need("RELATA_SETUP_URL");
const TAG = need("RELATA_TAG");
const ORG = `Newco ${TAG}`;
const PRODUCT = `Router R${TAG}`;

const ctx = await newContext();
const page = using(await ctx.newPage());
let clicks = 0;
let pages = 0;
const problems = [];
page.on("response", (r) => {
  if (r.request().resourceType() === "document" && r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
});
page.on("framenavigated", (f) => {
  if (f === page.mainFrame()) pages += 1;
});

async function click(locator) {
  clicks += 1;
  await locator.click();
  await page.waitForLoadState("domcontentloaded");
}

async function noError(where) {
  const alerts = await page.locator("[role=alert]").allTextContents();
  assert.deepEqual(alerts, [], `${where}: an error message was shown`);
  assert.deepEqual(problems, [], `${where}: a page answered with an error`);
}

let quotePdf = null;
let orgPage = null;

await step("setup page: organization and administrator, signed in", async () => {
  await page.goto(SETUP);
  await checkPage(page);
  await screen(page, "setup");
  await page.fill("#organization", ORG);
  await page.selectOption("#currency", "USD");
  await page.fill("#zone", "Europe/London");
  await page.fill("#firstname", "Nora");
  await page.fill("#lastname", "Newcomer");
  await page.fill("#email", `nora-${TAG}@newco.example`);
  await page.fill("#password", "Newcomer-Passw0rd");
  await page.fill("#password2", "Newcomer-Passw0rd");
  await click(page.locator("form#setup button[type=submit]"));
  assert.match(path(page), /^\/ui\/organizations\//, `after setup: ${path(page)}`);
  orgPage = path(page);
  await noError("setup");
  assert.equal((await page.locator("h1").textContent()).trim(), ORG);
});

await step("organization: legal name and tax number", async () => {
  await click(page.locator("[data-testid=edit]"));
  await page.fill("#f-relata_legalname", `${ORG} Limited`);
  await page.fill("#f-relata_vatnumber", "GB123456789");
  await click(page.locator("form#record button[type=submit]"));
  await noError("organization");
  await checkPage(page);
  await screen(page, "organization");
});

await step("a product with a price, created on the spot", async () => {
  await click(page.locator("nav a[href='/ui/products']").first());
  await click(page.locator("[data-testid=new]"));
  await page.fill("#f-name", PRODUCT);
  await page.fill("#f-productnumber", `R-${TAG}`);
  await page.fill("#f-price", "1,250.50");
  await click(page.locator("form#record button[type=submit]"));
  await noError("product");
  assert.match(path(page), /^\/ui\/products\/[0-9a-f-]{36}$/);
  await screen(page, "product");
});

await step("a lead, qualified into an opportunity", async () => {
  await click(page.locator("nav a[href='/ui/leads']").first());
  await click(page.locator("[data-testid=new]"));
  await page.fill("#f-subject", `Routers for the office ${TAG}`);
  await page.fill("#f-lastname", "Buyer");
  await page.fill("#f-companyname", `Customer ${TAG}`);
  await click(page.locator("form#record button[type=submit]"));
  await noError("lead");
  await click(page.locator("details[data-action=qualify] summary"));
  await click(page.locator("details[data-action=qualify] button[type=submit]"));
  await noError("qualify");
  assert.match(path(page), /^\/ui\/opportunities\//, `after qualifying: ${path(page)}`);
  await screen(page, "opportunity");
});

let opportunity = null;
await step("the product on the opportunity, priced from the default price list", async () => {
  opportunity = path(page);
  await click(page.locator("[data-subgrid=opportunityproducts] [data-testid=subgrid-new]"));
  await page.fill("#f-productid", PRODUCT);
  await page.fill("#f-quantity", "2");
  await click(page.locator("form#record button[type=submit]"));
  await noError("product line");
  assert.equal(path(page), opportunity, "saving the line comes back to the opportunity");
  const totals = await page.locator("[data-subgrid=opportunityproducts] [data-testid=totals]").textContent();
  assert.ok(totals.includes("2,501.00"), `the grid's total: ${totals}`);
  await screen(page, "opportunity-with-product");
});

await step("a quote, activated, and its PDF", async () => {
  await click(page.locator("button[data-action=create_quote]"));
  await noError("create quote");
  assert.match(path(page), /^\/ui\/quotes\//);
  await click(page.locator("button[data-action=activate]"));
  await noError("activate quote");
  const href = await page.locator("a[data-action=print]").getAttribute("href");
  clicks += 1; // the Print PDF link
  const pdf = await page.request.get(href);
  assert.equal(pdf.status(), 200, `PDF ${href}`);
  assert.match(pdf.headers()["content-type"], /application\/pdf/);
  quotePdf = join(SHOTS, "quote.pdf");
  writeFileSync(quotePdf, await pdf.body());
  await screen(page, "quote");
  info(`from the setup link to the quote's PDF: ${clicks} clicks, ${pages} pages, no error message`);
});

await step("a phone call logged on the account", async () => {
  await page.goto(opportunity);
  const account = page.locator("[data-testid=fields] a[href^='/ui/accounts/']").first();
  await click(account);
  await click(page.locator("[data-testid=log-phonecalls]"));
  await page.fill("#f-subject", `First call ${TAG}`);
  await click(page.locator("form#record button[type=submit]"));
  await noError("phone call");
  assert.match(path(page), /^\/ui\/accounts\//, "saving the call comes back to the account");
  assert.ok((await page.locator("[data-testid=timeline]").textContent()).includes(`First call ${TAG}`));
  await screen(page, "account-with-call");
});

await step("Russian, from the preferences", async () => {
  await page.goto("/ui/preferences");
  await page.selectOption("#pref-language", "1049");
  await click(page.locator("form.prefs button[type=submit]").first());
  await page.goto(orgPage);
  await checkPage(page, "ru");
  await page.goto("/");
  await checkPage(page, "ru");
  await screen(page, "dashboard-ru");
  await noError("Russian");
});

writeFileSync(join(SHOTS, "newcomer.json"), JSON.stringify({ clicks, pages, pdf: quotePdf }));
await ctx.close();
await finish();

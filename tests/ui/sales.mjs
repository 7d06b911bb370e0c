// The sales scenario end to end, as a Salesperson works it in the browser:
// account and contact, a lead qualified into an opportunity, the
// opportunity moved across the pipeline board and priced, a quote turned
// into an order and an invoice, the invoice paid, the opportunity won.
// Then a Sales Manager of the same unit sees the rep's account and not
// another unit's, and the interface speaks Russian. Every outcome is
// checked again through the Web API with the rep's token.
//
// The calling test (crates/relata/tests/ui_sales.rs) makes the users and
// the catalog.

import assert from "node:assert/strict";
import {
  need, API, newContext, step, info, goto, screen, checkPage, signIn, listRows, using, finish,
} from "./lib.mjs";

const TAG = need("RELATA_TAG");
const REP = { email: need("RELATA_REP_EMAIL"), password: need("RELATA_USER_PASSWORD"), token: need("RELATA_REP_TOKEN") };
const MANAGER = { email: need("RELATA_MANAGER_EMAIL"), password: need("RELATA_USER_PASSWORD") };
const WEST_ACCOUNT = need("RELATA_WEST_ACCOUNT");
const PRICE_LIST = need("RELATA_PRICE_LIST");
const PRODUCT = need("RELATA_PRODUCT");

const ACCOUNT = `Acme ${TAG}`;
const CONTACT_LAST = `Buyer ${TAG}`;
const LEAD_SUBJECT = `Interested in widgets ${TAG}`;
const LEAD_COMPANY = `Lead Co ${TAG}`;
const GUID_AT_END = /\/([0-9a-f-]{36})$/;

async function api(path) {
  const r = await fetch(`${API}${path}`, {
    headers: { Authorization: `Bearer ${REP.token}`, Accept: "application/json", "OData-Version": "4.0" },
  });
  assert.equal(r.status, 200, `GET ${path} answered ${r.status}`);
  return r.json();
}

const idOf = (page) => (new URL(page.url()).pathname.match(GUID_AT_END) || [])[1];

// Fills a record form field by its label's input id and saves the form.
async function save(page) {
  await Promise.all([page.waitForURL(GUID_AT_END), page.locator("form#record [type=submit]").click()]);
}

// Types a lookup's name and picks the suggestion that matches exactly.
async function pickLookup(page, field, name) {
  const input = page.locator(`#f-${field}`);
  await input.fill("");
  await input.pressSequentially(name.slice(0, -2), { delay: 10 });
  await page.waitForFunction(
    ([f, n]) => [...document.querySelectorAll(`#dl-${f} option`)].some((o) => o.value === n),
    [field, name],
  );
  await input.fill(name);
  await input.dispatchEvent("change");
}

const ctx = await newContext();
const page = await ctx.newPage();
const ids = {};

await step("1 the rep signs in with the keyboard", async () => {
  using(page);
  await goto(page, "/signin");
  await page.locator("#email").fill(REP.email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(REP.password);
  await Promise.all([page.waitForURL((u) => new URL(u).pathname === "/"), page.keyboard.press("Enter")]);
  await checkPage(page);
});

await step("2 the rep creates an account through its form", async () => {
  using(page);
  await goto(page, "/ui/accounts");
  await page.locator("[data-testid=new]").click();
  await page.locator("#f-name").fill(ACCOUNT);
  await page.locator("#f-telephone1").fill("+1 555 0100");
  await save(page);
  ids.account = idOf(page);
  const a = await api(`/accounts(${ids.account})?$select=name,telephone1`);
  assert.equal(a.name, ACCOUNT);
  await screen(page, "account");
});

await step("3 and a contact at that account, picked from the suggestions", async () => {
  using(page);
  await goto(page, "/ui/contacts/new");
  await page.locator("#f-firstname").fill("Ada");
  await page.locator("#f-lastname").fill(CONTACT_LAST);
  await pickLookup(page, "parentcustomerid", ACCOUNT);
  await save(page);
  ids.contact = idOf(page);
  const c = await api(`/contacts(${ids.contact})?$select=fullname,_parentcustomerid_value`);
  assert.equal(c._parentcustomerid_value, ids.account);
});

await step("4a the Salesperson sees their own account and not another unit's", async () => {
  using(page);
  await goto(page, `/ui/accounts?q=${encodeURIComponent(TAG)}`);
  const names = (await listRows(page)).map((r) => r.name);
  assert.ok(names.includes(ACCOUNT), "their account is listed");
  assert.ok(!names.includes(WEST_ACCOUNT), "the West unit's account is not");
});

await step("4 a Sales Manager of the same unit sees the rep's account, not another unit's", async () => {
  const mctx = await newContext();
  const m = using(await mctx.newPage());
  try {
    await signIn(m, MANAGER);
    await goto(m, `/ui/accounts?q=${encodeURIComponent(TAG)}`);
    const names = (await listRows(m)).map((r) => r.name);
    info(`manager sees: ${names.join(", ")}`);
    assert.ok(names.includes(ACCOUNT), "the rep's account is listed");
    assert.ok(!names.includes(WEST_ACCOUNT), "the other unit's account is not");
    await goto(m, `/ui/search?q=${encodeURIComponent(WEST_ACCOUNT)}`);
    assert.equal(await m.locator(`a:has-text("${WEST_ACCOUNT}")`).count(), 0, "nor found by search");
  } finally {
    await mctx.close();
  }
});

await step("5 the rep creates a lead and qualifies it into an opportunity", async () => {
  using(page);
  await goto(page, "/ui/leads/new");
  await page.locator("#f-subject").fill(LEAD_SUBJECT);
  await page.locator("#f-firstname").fill("Grace");
  await page.locator("#f-lastname").fill(`Hopper ${TAG}`);
  await page.locator("#f-companyname").fill(LEAD_COMPANY);
  await save(page);
  ids.lead = idOf(page);
  await screen(page, "lead-actions");
  await page.locator("details[data-action=qualify] summary").click();
  await Promise.all([
    page.waitForURL(/\/ui\/opportunities\/[0-9a-f-]{36}/),
    page.locator("details[data-action=qualify] button[type=submit]").click(),
  ]);
  ids.opportunity = idOf(page);
  const lead = await api(`/leads(${ids.lead})?$select=statecode,_qualifyingopportunityid_value`);
  assert.equal(lead.statecode, 1, "the lead is qualified");
  assert.equal(lead._qualifyingopportunityid_value, ids.opportunity);
  // Qualifying again is not offered, and a forged attempt is refused.
  await goto(page, `/ui/leads/${ids.lead}`);
  assert.equal(await page.locator("details[data-action=qualify]").count(), 0);
});

await step("6 the rep prices the opportunity: a price list and a product line", async () => {
  using(page);
  await goto(page, `/ui/opportunities/${ids.opportunity}/edit`);
  await pickLookup(page, "pricelevelid", PRICE_LIST);
  // Written the way many users write amounts.
  await page.locator("#f-estimatedvalue").fill("1 000");
  await save(page);
  await page.locator("[data-subgrid=opportunityproducts] [data-testid=subgrid-new]").click();
  await page.waitForURL(/\/ui\/opportunityproducts\/new\?/);
  await pickLookup(page, "productid", PRODUCT);
  await page.locator("#f-quantity").fill("2");
  await save(page);
  const o = await api(`/opportunities(${ids.opportunity})?$select=totalamount,_pricelevelid_value`);
  info(`opportunity total: ${o.totalamount}`);
  assert.equal(Number(o.totalamount), 500, "2 × 250 from the price list");
  await goto(page, `/ui/opportunities/${ids.opportunity}`);
  assert.equal(await page.locator("[data-subgrid=opportunityproducts] tbody tr").count(), 1);
  await screen(page, "opportunity");
});

await step("7 the rep drags the opportunity across the pipeline board; the keyboard way works too", async () => {
  using(page);
  await goto(page, "/ui/board/pipeline?mine=1");
  await checkPage(page);
  const card = page.locator(`.card[data-id="${ids.opportunity}"]`);
  const column = (name) => page.locator(".column", { has: page.locator("h2", { hasText: new RegExp(`^${name}$`) }) });
  assert.equal(await column("Qualify").locator(`.card[data-id="${ids.opportunity}"]`).count(), 1, "starts in Qualify");
  await Promise.all([page.waitForEvent("load"), card.dragTo(column("Propose"))]);
  let o = await api(`/opportunities(${ids.opportunity})?$select=stepname,closeprobability,estimatedvalue`);
  assert.equal(o.stepname, "Propose");
  assert.equal(o.closeprobability, 70);
  const propose = column("Propose");
  assert.equal(await propose.locator(`.card[data-id="${ids.opportunity}"]`).count(), 1, "the card is in Propose after the reload");
  const total = await propose.locator("[data-testid=total]").textContent();
  const weighted = await propose.locator("[data-testid=weighted]").textContent();
  info(`Propose: ${await propose.locator("[data-testid=count]").textContent()}, total ${total}, weighted ${weighted}; estimated ${o.estimatedvalue}`);
  const value = Number(o.estimatedvalue);
  assert.equal(value, 1000, "the estimate typed as 1 000");
  const plain = (t) => Number(t.replace(/[^0-9.]/g, ""));
  assert.equal(plain(total), value, "the column total is the card's value");
  assert.equal(plain(weighted), Math.round(value * 70) / 100, "weighted by 70%");
  await screen(page, "pipeline");
  // Without a mouse: the card's own form.
  await page.locator(`#mv-${ids.opportunity}`).selectOption({ label: "Develop" });
  await Promise.all([page.waitForURL(/done=/), page.locator(`.card[data-id="${ids.opportunity}"] .move button`).click()]);
  o = await api(`/opportunities(${ids.opportunity})?$select=stepname,closeprobability`);
  assert.equal(o.stepname, "Develop");
  assert.equal(o.closeprobability, 40);
  assert.match(await page.locator("svg.chart title").first().textContent(), /Pipeline/);
});

await step("8 quote → order → invoice → paid, each from the record's buttons", async () => {
  using(page);
  await goto(page, `/ui/opportunities/${ids.opportunity}`);
  await Promise.all([page.waitForURL(/\/ui\/quotes\/[0-9a-f-]{36}/), page.locator("button[data-action=create_quote]").click()]);
  ids.quote = idOf(page);
  assert.equal(await page.locator("[data-subgrid=quotedetails] tbody tr").count(), 1, "the quote has the line");
  await Promise.all([page.waitForURL(/done=/), page.locator("button[data-action=activate]").click()]);
  assert.equal((await api(`/quotes(${ids.quote})?$select=statecode`)).statecode, 1);
  await screen(page, "quote");
  await Promise.all([page.waitForURL(/\/ui\/salesorders\/[0-9a-f-]{36}/), page.locator("button[data-action=create_order]").click()]);
  ids.order = idOf(page);
  await Promise.all([page.waitForURL(/\/ui\/invoices\/[0-9a-f-]{36}/), page.locator("button[data-action=create_invoice]").click()]);
  ids.invoice = idOf(page);
  const inv = await api(`/invoices(${ids.invoice})?$select=totalamount,statecode,_salesorderid_value`);
  assert.equal(inv._salesorderid_value, ids.order);
  assert.equal(Number(inv.totalamount), 500);
  await Promise.all([page.waitForURL(/done=/), page.locator("button[data-action=mark_paid]").click()]);
  const paid = await api(`/invoices(${ids.invoice})?$select=statecode,statuscode,relata_amountpaid`);
  assert.equal(paid.statecode, 2, "the invoice is paid");
  assert.equal(Number(paid.relata_amountpaid), 500);
  assert.equal(await page.locator("button[data-action=mark_paid]").count(), 0, "no second payment offered");
  await screen(page, "invoice-paid");
});

await step("8b the rep wins the opportunity with the Win form", async () => {
  using(page);
  await goto(page, `/ui/opportunities/${ids.opportunity}`);
  await page.locator("details[data-action=win] summary").click();
  await page.locator("details[data-action=win] input[name=actualrevenue]").fill("480");
  await Promise.all([page.waitForURL(/done=/), page.locator("details[data-action=win] button[type=submit]").click()]);
  const o = await api(`/opportunities(${ids.opportunity})?$select=statecode,actualvalue`);
  assert.equal(o.statecode, 1, "won");
  assert.equal(Number(o.actualvalue), 480);
  assert.equal(await page.locator("[data-testid=edit]").count(), 0, "a won opportunity is read-only");
  assert.ok(await page.locator("button[data-action=reopen]").count() === 1, "it can be reopened");
});

await step("9 the interface switches to Russian and stays so", async () => {
  using(page);
  await goto(page, "/ui/accounts?lang=ru");
  await checkPage(page, "ru");
  assert.equal((await page.locator("h1").textContent()).trim(), "Организации");
  await goto(page, "/");
  assert.equal(await page.locator("html").getAttribute("lang"), "ru");
  await screen(page, "home-ru");
  await goto(page, "/?lang=en");
});

await finish();

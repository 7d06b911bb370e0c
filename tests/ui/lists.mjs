// Lists and forms in Chromium, the way a person uses them: picking a view,
// filtering a column, ticking rows for a bulk action, exporting, choosing
// a lookup from its suggestions, and being warned before leaving unsaved
// changes. The calling test (crates/relata/tests/ui_lists.rs) makes the
// records and passes their names and ids.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  need, API, newContext, step, info, goto, screen, checkPage, signIn, listRows, noOverflow, using, finish,
} from "./lib.mjs";

const ADMIN = { email: need("RELATA_ADMIN_EMAIL"), password: need("RELATA_ADMIN_PASSWORD") };
const TOKEN = need("RELATA_ADMIN_TOKEN");
const TAG = need("RELATA_TAG");
const ACTIVE_ID = need("RELATA_ACTIVE_ID").toLowerCase();
const INACTIVE_ID = need("RELATA_INACTIVE_ID").toLowerCase();
const BIG_ID = need("RELATA_BIG_ID").toLowerCase();
const BULK_IDS = JSON.parse(need("RELATA_BULK_IDS")).map((i) => i.toLowerCase());
const COMPANY = need("RELATA_COMPANY_NAME");
const COMPANY_ID = need("RELATA_COMPANY_ID").toLowerCase();

async function api(path) {
  const r = await fetch(`${API}${path}`, {
    headers: { Authorization: `Bearer ${TOKEN}`, Accept: "application/json", "OData-Version": "4.0" },
  });
  assert.equal(r.status, 200, `GET ${path} answered ${r.status}`);
  return r.json();
}

const ctx = await newContext({ acceptDownloads: true });
const page = await ctx.newPage();
await signIn(page, ADMIN);

await step("1 the view picker switches between system views", async () => {
  using(page);
  await goto(page, `/ui/accounts?q=${encodeURIComponent(`Chromium ${TAG}`)}`);
  await checkPage(page);
  const picked = await page.locator("select#view option:checked").textContent();
  assert.equal(picked.trim(), "Active Accounts");
  assert.deepEqual((await listRows(page)).map((r) => r.id), [ACTIVE_ID]);
  await Promise.all([page.waitForURL(/view=s%3A|view=s:/), page.selectOption("select#view", { label: "Inactive Accounts" })]);
  // A new view starts afresh; find the record again within it.
  await page.locator("form[role=search]:not(#search) input[name=q]").fill(`Chromium ${TAG}`);
  await Promise.all([page.waitForLoadState("domcontentloaded"), page.locator("form[role=search]:not(#search) input[name=q]").press("Enter")]);
  await page.waitForURL(/q=/);
  assert.deepEqual((await listRows(page)).map((r) => r.id), [INACTIVE_ID]);
  assert.equal((await page.locator("select#view option:checked").textContent()).trim(), "Inactive Accounts");
});

await step("2 a column filter typed in the header row narrows the list", async () => {
  using(page);
  await goto(page, `/ui/opportunities?q=${encodeURIComponent(TAG)}`);
  assert.equal((await listRows(page)).length, 2);
  const filter = page.locator("input[data-filter=estimatedvalue]");
  await filter.fill(">1000");
  await Promise.all([page.waitForURL(/f\.estimatedvalue=/), filter.press("Enter")]);
  assert.deepEqual((await listRows(page)).map((r) => r.id), [BIG_ID]);
  await screen(page, "opportunities-filtered");
  // A value that is not a number is explained, naming the column.
  await filter.fill("lots");
  await Promise.all([page.waitForURL(/f\.estimatedvalue=lots/), filter.press("Enter")]);
  const alert = await page.locator("[data-testid=list-error]").textContent();
  assert.match(alert, /Est\. Revenue|Estimated/);
});

await step("3 ticking rows and Deactivate changes exactly those records", async () => {
  using(page);
  await goto(page, `/ui/accounts?q=${encodeURIComponent(`Bulk ${TAG}`)}`);
  const rows = await listRows(page);
  assert.equal(rows.length, 3, "three bulk accounts listed");
  for (const id of BULK_IDS) await page.locator(`tr[data-id="${id}"] input[name=ids]`).check();
  await page.selectOption("#bulk-action", "deactivate");
  await Promise.all([page.waitForURL(/done=/), page.locator("[data-testid=bulk-run]").click()]);
  assert.match(await page.locator("[data-testid=done]").textContent(), /2/);
  for (const id of BULK_IDS) {
    const a = await api(`/accounts(${id})?$select=statecode`);
    assert.equal(a.statecode, 1, `account ${id} deactivated`);
  }
  const left = rows.map((r) => r.id).filter((id) => !BULK_IDS.includes(id));
  const other = await api(`/accounts(${left[0]})?$select=statecode`);
  assert.equal(other.statecode, 0, "the row not ticked is untouched");
  // The list (Active Accounts) now shows only the untouched one.
  assert.deepEqual((await listRows(page)).map((r) => r.id), left);
});

await step("4 Export CSV downloads the list as shown", async () => {
  using(page);
  await goto(page, `/ui/opportunities?q=${encodeURIComponent(TAG)}&f.estimatedvalue=${encodeURIComponent(">1000")}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("[data-testid=export-csv]").click()]);
  assert.equal(download.suggestedFilename(), "opportunities.csv");
  const text = readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "");
  const lines = text.trim().split(/\r?\n/);
  info(`export: ${lines.length} lines, header ${lines[0]}`);
  assert.equal(lines.length, 2, "a header and the one filtered row");
  assert.match(lines[1], new RegExp(`Opp ${TAG} big`));
});

await step("5 a lookup is chosen from its suggestions while typing", async () => {
  using(page);
  await goto(page, "/ui/contacts/new");
  await checkPage(page);
  await page.locator("#f-lastname").fill(`Typeahead ${TAG}`);
  const company = page.locator("#f-parentcustomerid");
  await company.pressSequentially(COMPANY.slice(0, COMPANY.length - 3), { delay: 20 });
  // The suggestions arrive from /ui/lookup and fill the datalist.
  await page.waitForFunction(
    (name) => [...document.querySelectorAll("#dl-parentcustomerid option")].some((o) => o.value === name),
    COMPANY,
  );
  await company.fill(COMPANY);
  await company.dispatchEvent("change");
  const picked = await page.locator("input[data-lookup-value=parentcustomerid]").inputValue();
  assert.equal(picked.toLowerCase(), `account:${COMPANY_ID}`);
  await screen(page, "contact-new-lookup");
  await Promise.all([page.waitForURL(/\/ui\/contacts\/[0-9a-f-]{36}$/), page.locator("form#record [type=submit]").click()]);
  const link = page.locator(`[data-testid=fields] a[href="/ui/accounts/${COMPANY_ID}"]`);
  assert.equal((await link.textContent()).trim(), COMPANY);
});

await step("6 leaving a form with unsaved changes asks first; saving does not", async () => {
  using(page);
  const url = page.url();
  await goto(page, `${new URL(url).pathname}/edit`);
  await page.locator("#f-jobtitle").fill("Buyer");
  let asked = 0;
  const onDialog = async (d) => {
    asked += 1;
    assert.equal(d.type(), "beforeunload");
    await d.dismiss();
  };
  page.on("dialog", onDialog);
  await page.locator("a.brand").click();
  await page.waitForTimeout(500);
  assert.equal(asked, 1, "the browser asked before leaving");
  assert.match(page.url(), /\/edit$/, "still on the form after choosing to stay");
  await Promise.all([page.waitForURL(/\/ui\/contacts\/[0-9a-f-]{36}$/), page.locator("form#record [type=submit]").click()]);
  assert.equal(asked, 1, "saving did not ask");
  page.off("dialog", onDialog);
});

await step("7 lists with filters, bulk bar and views fit a 375 px phone", async () => {
  const phoneCtx = await newContext({ phone: true, storageState: await ctx.storageState() });
  const phone = using(await phoneCtx.newPage());
  await goto(phone, `/ui/accounts?q=${encodeURIComponent(TAG)}`);
  await noOverflow(phone);
  await phoneCtx.close();
});

await finish();

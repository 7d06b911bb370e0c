// A module that exists only in the test (a help desk) in Chromium: its
// area in the navigation, its list, its record page with the buttons its
// lifecycle and its action declare, the action's generated form, and a
// refusal of its lifecycle shown in Russian at the top of the form.

import assert from "node:assert/strict";
import { need, newContext, step, goto, screen, checkPage, signIn, using, finish } from "./lib.mjs";

const ADMIN = { email: need("RELATA_ADMIN_EMAIL"), password: need("RELATA_ADMIN_PASSWORD") };
const TICKET = need("RELATA_TICKET_ID");
const TITLE = need("RELATA_TICKET_TITLE");

const ctx = await newContext();
const page = await ctx.newPage();
await signIn(page, ADMIN);

await step("1 the module's area lists its entity", async () => {
  using(page);
  await goto(page, "/");
  const link = page.locator("nav.areas section[data-area=helpdesk] a[data-entity=hd_ticket]");
  assert.equal(await link.count(), 1, "the Helpdesk area links Tickets");
  await Promise.all([page.waitForURL(/\/ui\/hd_tickets$/), link.click()]);
  await checkPage(page);
  assert.ok((await page.locator("[data-testid=list]").innerText()).includes(TITLE), "the list shows the ticket");
  await screen(page, "tickets");
});

await step("2 the record page offers what the lifecycle declares, and the action's form resolves", async () => {
  using(page);
  await goto(page, `/ui/hd_tickets/${TICKET}`);
  await checkPage(page);
  const start = page.locator("button[data-action=state_1]");
  assert.equal(await start.innerText(), "Start work", "a new ticket can be started");
  assert.equal(await page.locator("[data-action=op_hd_Resolve]").count(), 0, "not resolved before it is started");
  await Promise.all([page.waitForURL(/done=/), start.click()]);
  // An action with parameters opens its form first.
  await page.locator("details[data-action=op_hd_Resolve] summary").click();
  await page.locator("details[data-action=op_hd_Resolve] input[name=Resolution]").fill("Cleaned the rollers");
  await screen(page, "resolve-form");
  await Promise.all([
    page.waitForURL(/done=/),
    page.locator("details[data-action=op_hd_Resolve] button[type=submit]").click(),
  ]);
  await checkPage(page);
  assert.equal(await page.locator("button[data-action=state_0]").innerText(), "Reopen", "a resolved ticket can be reopened");
  await screen(page, "resolved");
});

await finish();

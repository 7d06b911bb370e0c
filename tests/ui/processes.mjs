// Processes in Chromium, as an administrator and a user work with them:
// a workflow built in the designer with the mouse (a table, a trigger, a
// condition, a step creating a task) saved and activated; the business
// rule the calling test built shaping the account form as the user types
// (the KPP appears for an LLC and the INN is marked required; the server
// still refuses a save without it); the stage bar of an opportunity moving
// to the next stage and refusing with the required column's message.
// Screenshots at 1280 and 390 px.
//
// The calling test (crates/relata/tests/ui_processes.rs) builds the rule,
// requires Description on the sales process's Develop stage and makes
// the opportunity, and runs a workflow whose log the job's page shows.
// Env: RELATA_OPPORTUNITY_ID, RELATA_JOB_ID.

import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, need, newContext, step, goto, checkPage, signIn, using, path, finish } from "./lib.mjs";

const OPPORTUNITY = need("RELATA_OPPORTUNITY_ID").toLowerCase();
const JOB = need("RELATA_JOB_ID").toLowerCase();
const ADMIN = { email: need("RELATA_ADMIN_EMAIL"), password: need("RELATA_ADMIN_PASSWORD") };
const WIDE = { width: 1280, height: 900 };
const NARROW = { width: 390, height: 844 };

const ctx = await newContext();
const page = using(await ctx.newPage());
page.setViewportSize(WIDE);
await signIn(page, ADMIN);

// A button or select that posts the designer's form: waits for the new page.
async function posting(action) {
  await Promise.all([page.waitForNavigation(), action()]);
  await page.waitForLoadState("domcontentloaded");
}

// Both widths: the page fits its window, and a screenshot of each.
async function shots(name) {
  for (const [size, tag] of [[WIDE, "1280"], [NARROW, "390"]]) {
    await page.setViewportSize(size);
    const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scroll <= size.width, `${name} at ${size.width} px is ${scroll} px wide`);
    await page.screenshot({ path: join(SHOTS, `${name}-${tag}.png`), fullPage: true });
  }
  await page.setViewportSize(WIDE);
}

const NAME = `Propose task ${Date.now()}`;

await step("Settings lead to the designer, which lists the seeded sales process", async () => {
  using(page);
  await goto(page, "/ui/settings");
  await Promise.all([page.waitForURL(/\/ui\/processes$/), page.locator("[data-testid=settings] a[href=\"/ui/processes\"]").click()]);
  await checkPage(page);
  assert.equal(await page.locator("table[data-testid=processes] a", { hasText: "Opportunity Sales Process" }).count(), 1);
  await Promise.all([page.waitForURL(/category=0/), page.locator("[data-testid=new-workflow]").click()]);
  await checkPage(page);
});

await step("a workflow is built with the mouse: table, trigger, condition, a task step", async () => {
  using(page);
  await page.locator("#p-name").fill(NAME);
  // Choosing the table shows the form again with its columns.
  await posting(() => page.locator("#p-entity").selectOption("opportunity"));
  assert.equal(await page.locator("#p-name").inputValue(), NAME, "what was typed stays");
  await page.locator("#p-on_update").selectOption(["salesstage"]);
  await posting(() => page.locator("[data-testid=add-condition]").first().click());
  await posting(() => page.locator("#p-c-0-field").selectOption("salesstage"));
  // The value offers the sales stage's own choices.
  await page.locator("#p-c-0-val").selectOption({ label: "Propose" });
  await page.locator("#p-s-new").selectOption("create");
  await posting(() => page.locator("[data-testid=add-s]").click());
  assert.equal(await page.locator("section.pstep[data-step='s.0']").count(), 1);
  await page.locator("#p-s-0-name").fill("Task for the owner");
  await posting(() => page.locator("#p-s-0-entity").selectOption("task"));
  await posting(() => page.locator("#p-s-0-v-0-col").selectOption("subject"));
  await page.locator("#p-s-0-v-0-val").fill("Send the proposal for {{ record.name }}");
  await posting(() => page.locator("section[data-step='s.0'] [data-testid=add-value]").click());
  await posting(() => page.locator("#p-s-0-v-1-col").selectOption("regardingobjectid"));
  await posting(() => page.locator("#p-s-0-v-1-kind").selectOption("record"));
  assert.equal(await page.locator("#p-s-0-v-0-val").inputValue(), "Send the proposal for {{ record.name }}");
  await shots("designer-workflow");
  await posting(() => page.locator("[data-testid=save]").click());
  assert.match(path(page), /^\/ui\/processes\/[0-9a-f-]{36}$/);
  assert.match(await page.locator("[data-testid=done]").textContent(), /Saved/);
  await posting(() => page.locator("[data-testid=activate]").click());
  assert.match(await page.locator("[data-testid=done]").textContent(), /Activated/);
  assert.equal((await page.locator("[data-testid=process-state]").textContent()).trim(), "Activated");
  assert.equal(await page.locator("[data-testid=locked]").count(), 1, "activated: shown, not edited");
  await page.locator("[data-testid=json] summary").click();
  const json = JSON.parse(await page.locator("[data-testid=json] pre").textContent());
  assert.deepEqual(json.condition, { all: [{ field: "salesstage", op: "eq", value: 2 }] });
  assert.deepEqual(json.steps[0].values.regardingobjectid, { record: true });
  await checkPage(page);
  await shots("designer-activated");
});

await step("the designer's mistake is shown at its step, in the engine's words", async () => {
  using(page);
  await goto(page, "/ui/processes/new?category=0");
  await page.locator("#p-name").fill("Mistaken");
  await posting(() => page.locator("#p-entity").selectOption("account"));
  await page.locator("#p-s-new").selectOption("notify");
  await posting(() => page.locator("[data-testid=add-s]").click());
  await page.locator("#p-s-0-to").selectOption("ownerid");
  await posting(() => page.locator("[data-testid=save]").click());
  assert.match(await page.locator("[data-testid=problem]").textContent(), /steps\[0\]: 'title' is required/);
  assert.equal(await page.locator("section[data-step='s.0'] [data-testid=step-error]").count(), 1);
  await shots("designer-mistake");
});

await step("the business rule shapes the account form as the user types", async () => {
  using(page);
  await goto(page, "/ui/accounts/new");
  const kpp = page.locator(".field[data-field=relata_kpp]");
  const inn = page.locator(".field[data-field=relata_inn]");
  const marked = () => inn.locator("label span.req").evaluate((m) => !m.hidden).catch(() => false);
  assert.equal(await kpp.isVisible(), false, "no LLC: the KPP is hidden");
  assert.equal(await marked(), false, "and the INN is not required");
  await page.locator("#f-name").pressSequentially("Horns LLC", { delay: 15 });
  assert.equal(await kpp.isVisible(), true, "an LLC: the KPP appears");
  assert.equal(await marked(), true, "the INN is marked required");
  assert.equal(await page.locator("#f-relata_inn").evaluate((i) => i.required), true);
  await shots("rule-llc");
  await page.locator("#f-name").fill("Horns");
  assert.equal(await kpp.isVisible(), false, "not an LLC again: hidden");
  assert.equal(await marked(), false);
  await page.locator("#f-name").fill("Hooves LLC");
  // The form still goes to the server, which refuses it at the field.
  await posting(() => page.locator("form#record [type=submit]").click());
  assert.match(await inn.locator(".field-error").first().textContent(), /INN is required \(business rule 'Legal entities'\)/);
  assert.equal(await kpp.isVisible(), true, "the refused form is judged again");
  await shots("rule-refused");
});

await step("the stage bar moves the opportunity and says what is missing", async () => {
  using(page);
  await goto(page, `/ui/opportunities/${OPPORTUNITY}`);
  const bar = page.locator("[data-testid=stage-bar]");
  assert.equal(await bar.locator("[aria-current=step]").getAttribute("data-stage"), "Qualify");
  assert.match(await bar.locator("[data-testid=stage-time]").textContent(), /In this stage for/);
  await shots("stage-bar");
  await posting(() => bar.locator("[data-testid=stage-next]").click());
  assert.match(await page.locator("[data-testid=done]").textContent(), /Moved to the stage “Develop”/);
  assert.equal(await page.locator("[data-testid=stage-bar] [aria-current=step]").getAttribute("data-stage"), "Develop");
  await posting(() => page.locator("[data-testid=stage-next]").click());
  assert.match(await page.locator("[data-testid=problem]").textContent(), /Fill in Description before moving on from the stage 'Develop'/);
  assert.equal(await page.locator("[data-testid=stage-bar] [aria-current=step]").getAttribute("data-stage"), "Develop");
  await checkPage(page);
  await shots("stage-refused");
});

await step("the rule and the flow open in their editors", async () => {
  using(page);
  await goto(page, "/ui/processes");
  await Promise.all([page.waitForURL(/\/ui\/processes\/[0-9a-f-]{36}$/), page.locator("table[data-testid=processes] a", { hasText: "Legal entities" }).click()]);
  await checkPage(page);
  assert.equal(await page.locator("[data-testid=locked]").count(), 1);
  assert.equal(await page.locator("#p-a-t-0-field").inputValue(), "relata_inn");
  await shots("designer-rule");
  await goto(page, "/ui/processes");
  await Promise.all([page.waitForURL(/\/ui\/processes\/[0-9a-f-]{36}$/), page.locator("table[data-testid=processes] a", { hasText: "Opportunity Sales Process" }).click()]);
  await checkPage(page);
  assert.equal(await page.locator("[data-testid=stages] [data-stage]").count(), 4);
  assert.deepEqual(await page.locator("#p-st-1-req").evaluate((s) => [...s.selectedOptions].map((o) => o.value)), ["description"]);
  await shots("designer-flow");
});

await step("a workflow run's log reads on its system job's page", async () => {
  using(page);
  await goto(page, `/ui/asyncoperations/${JOB}`);
  const log = page.locator("[data-testid=process-log]");
  assert.equal(await log.locator("[data-testid=log-row]").count(), 1);
  assert.match(await log.locator("[data-testid=log-row] th").textContent(), /Task for the owner/);
  assert.match(await log.locator("[data-testid=log-row]").textContent(), /Succeeded/);
  await log.locator("details summary").first().click();
  await checkPage(page);
  await shots("run-log");
});

await finish();

// The calendar and personal settings in Chromium: a Salesperson drags an
// appointment to another day, creates one from a day's "+" and sees the
// week and month views; then sets Russian and a time zone and sees both
// applied. Outcomes are checked through the Web API with the rep's token.

import assert from "node:assert/strict";
import { need, API, newContext, step, goto, screen, checkPage, signIn, noOverflow, using, finish } from "./lib.mjs";

const TAG = need("RELATA_TAG");
const REP = { email: need("RELATA_REP_EMAIL"), password: need("RELATA_USER_PASSWORD"), token: need("RELATA_REP_TOKEN") };
const APPOINTMENT = need("RELATA_APPOINTMENT_ID").toLowerCase();

async function api(path) {
  const r = await fetch(`${API}${path}`, {
    headers: { Authorization: `Bearer ${REP.token}`, Accept: "application/json", "OData-Version": "4.0" },
  });
  assert.equal(r.status, 200, `GET ${path} answered ${r.status}`);
  return r.json();
}

const ctx = await newContext();
const page = await ctx.newPage();
await signIn(page, REP);

await step("1 an appointment dragged to Thursday keeps its time and length", async () => {
  using(page);
  await goto(page, "/ui/calendar?view=week&date=2026-03-02");
  await checkPage(page);
  const item = page.locator(`.item[data-id="${APPOINTMENT}"]`);
  assert.equal(await page.locator(`[data-date="2026-03-02"] .item[data-id="${APPOINTMENT}"]`).count(), 1);
  await screen(page, "calendar-week");
  await Promise.all([page.waitForEvent("load"), item.dragTo(page.locator('[data-date="2026-03-05"]'))]);
  const a = await api(`/appointments(${APPOINTMENT})?$select=scheduledstart,scheduledend`);
  assert.equal(a.scheduledstart, "2026-03-05T09:00:00Z");
  assert.equal(a.scheduledend, "2026-03-05T10:00:00Z");
  assert.equal(await page.locator(`[data-date="2026-03-05"] .item[data-id="${APPOINTMENT}"]`).count(), 1);
});

await step("2 the keyboard way: the item's own form sets a new start", async () => {
  using(page);
  await goto(page, "/ui/calendar?view=week&date=2026-03-02");
  const item = page.locator(`.item[data-id="${APPOINTMENT}"]`);
  await item.locator("summary").click();
  await item.locator("input[name=start]").fill("2026-03-06T14:30");
  await Promise.all([page.waitForURL(/done=/), item.locator("button[type=submit]").click()]);
  const a = await api(`/appointments(${APPOINTMENT})?$select=scheduledstart,scheduledend`);
  assert.equal(a.scheduledstart, "2026-03-06T14:30:00Z");
  assert.equal(a.scheduledend, "2026-03-06T15:30:00Z");
});

await step("3 a day's + opens a new appointment at 09:00 that day", async () => {
  using(page);
  await goto(page, "/ui/calendar?view=month&date=2026-03-15");
  await page.locator('[data-date="2026-03-10"] a.add').click();
  await page.waitForURL(/\/ui\/calendar\/new\?start=2026-03-10T09/);
  assert.equal(await page.locator("#a-start").inputValue(), "2026-03-10T09:00");
  await page.locator("#a-subject").fill(`Review ${TAG}`);
  await Promise.all([page.waitForURL(/\/ui\/calendar\?date=2026-03-10/), page.locator("#appointment [type=submit]").click()]);
  const found = await api(`/appointments?$select=scheduledstart&$filter=subject eq 'Review ${TAG}'`);
  assert.equal(found.value.length, 1);
  assert.equal(found.value[0].scheduledstart, "2026-03-10T09:00:00Z");
  await goto(page, "/ui/calendar?view=month&date=2026-03-15");
  assert.match(await page.locator('[data-date="2026-03-10"]').textContent(), new RegExp(`Review ${TAG}`));
  await screen(page, "calendar-month");
});

await step("4 personal settings: Russian and Moscow time apply everywhere", async () => {
  using(page);
  await goto(page, "/ui/preferences");
  await checkPage(page);
  await page.locator("#pref-language").selectOption("1049");
  await page.locator("#pref-zone").fill("Europe/Moscow");
  await Promise.all([page.waitForURL(/done=1/), page.locator("form.prefs [type=submit]").click()]);
  assert.equal(await page.locator("html").getAttribute("lang"), "ru");
  await screen(page, "preferences");
  await goto(page, "/ui/calendar?view=week&date=2026-03-02");
  // 14:30 UTC is 17:30 in Moscow.
  assert.match(await page.locator(`.item[data-id="${APPOINTMENT}"] .time`).textContent(), /17:30/);
  assert.equal((await page.locator("h1").textContent()).trim(), "Календарь");
});

await step("5 the month fits a 375 px phone", async () => {
  const phoneCtx = await newContext({ phone: true, storageState: await ctx.storageState() });
  const phone = using(await phoneCtx.newPage());
  await goto(phone, "/ui/calendar?view=month&date=2026-03-15");
  await noOverflow(phone);
  await phoneCtx.close();
});

await finish();

// Notifications in Chromium: a Salesperson who was assigned an account
// signs in, sees the bell's count in the header (on a wide and a 390 px
// window), opens the notifications page from it, marks all as read and
// sees the count go to 0. Then a new email about a contact: it starts with
// the rep's signature, and choosing a template fills it in.
//
// Env: RELATA_TAG, RELATA_REP_EMAIL, RELATA_ACCOUNT_ID, RELATA_CONTACT_ID,
// RELATA_TEMPLATE_ID.

import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, need, newContext, step, goto, checkPage, signIn, using, path, finish } from "./lib.mjs";

const TAG = need("RELATA_TAG");
const REP = { email: need("RELATA_REP_EMAIL"), password: need("RELATA_USER_PASSWORD") };
const ACCOUNT = need("RELATA_ACCOUNT_ID").toLowerCase();
const CONTACT = need("RELATA_CONTACT_ID").toLowerCase();
const TEMPLATE = need("RELATA_TEMPLATE_ID").toLowerCase();
const NARROW = { width: 390, height: 844 };
const WIDE = { width: 1280, height: 800 };

const ctx = await newContext();
const page = using(await ctx.newPage());
await signIn(page, REP);

const count = async () => (await page.locator("[data-testid=notifications]").getAttribute("data-count")) ?? "";

// The header stays on the page: every item of it inside the window, the
// bell clear of the others, nothing wider than the window.
async function headerFits(size) {
  await page.setViewportSize(size);
  const m = await page.evaluate(() => {
    const box = (sel) => document.querySelector(sel).getBoundingClientRect();
    const items = [...document.querySelectorAll("header.top > *:not(.skip)")].map((el) => el.getBoundingClientRect());
    return {
      scroll: document.documentElement.scrollWidth,
      right: Math.max(...items.map((r) => r.right)),
      bell: box("[data-testid=notifications]"),
      others: ["#search", "[data-testid=user-name]", "#signout", ".brand"].map(box),
    };
  });
  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  assert.ok(m.scroll <= size.width, `${size.width} px: the page is ${m.scroll} px wide`);
  assert.ok(m.right <= size.width, `${size.width} px: the header reaches ${m.right} px`);
  assert.ok(m.bell.width > 0 && m.bell.height > 0, "the bell is visible");
  assert.ok(!m.others.some((o) => overlap(m.bell, o)), `${size.width} px: the bell overlaps another header item`);
}

await step("the bell shows one unread notification", async () => {
  using(page);
  await goto(page, "/");
  assert.equal(await count(), "1");
  assert.equal((await page.locator("[data-testid=notifications-count]").textContent()).trim(), "1");
  assert.match(await page.locator("[data-testid=notifications]").getAttribute("aria-label"), /1 unread/);
  await headerFits(WIDE);
  await page.screenshot({ path: join(SHOTS, "bell-wide.png") });
  await headerFits(NARROW);
  await page.screenshot({ path: join(SHOTS, "bell-narrow.png") });
  await page.setViewportSize(WIDE);
});

await step("the bell leads to the notifications page", async () => {
  using(page);
  await Promise.all([page.waitForURL(/\/ui\/notifications$/), page.locator("[data-testid=notifications]").click()]);
  await checkPage(page);
  const item = page.locator(".ntf", { hasText: `Browser bell ${TAG}` });
  assert.equal(await item.count(), 1);
  assert.match(await item.locator(".ntf-title").textContent(), new RegExp(`Account assigned to you: Browser bell ${TAG}`));
  assert.equal(await item.locator("[data-testid=regarding]").getAttribute("href"), `/ui/accounts/${ACCOUNT}`);
  await page.screenshot({ path: join(SHOTS, "notifications-wide.png"), fullPage: true });
  await page.setViewportSize(NARROW);
  await headerFits(NARROW);
  await page.screenshot({ path: join(SHOTS, "notifications-narrow.png"), fullPage: true });
  await page.setViewportSize(WIDE);
});

await step("mark all as read puts the bell to 0", async () => {
  using(page);
  await Promise.all([page.waitForURL(/marked=/), page.locator("[data-testid=mark-all]").click()]);
  assert.equal(path(page), "/ui/notifications");
  assert.equal(await count(), "0");
  assert.equal(await page.locator("[data-testid=notifications-count]").isVisible(), false, "no badge at 0");
  assert.equal(await page.locator("[data-testid=mark-read]").count(), 0);
  assert.equal(await page.locator("[data-testid=done]").count(), 1);
  await page.screenshot({ path: join(SHOTS, "notifications-read.png") });
  await goto(page, "/");
  assert.equal(await count(), "0");
  await headerFits(NARROW);
  await page.screenshot({ path: join(SHOTS, "bell-zero-narrow.png") });
});

await step("a new email starts with the signature; a template fills it in", async () => {
  using(page);
  await page.setViewportSize(WIDE);
  await goto(page, `/ui/emails/new?regardingobjectid=contact:${CONTACT}`);
  await checkPage(page);
  assert.equal(await page.locator("#f-description").inputValue(), `\n<p>Best, Rep ${TAG}</p>`);
  await page.locator("#mail-template").selectOption(TEMPLATE);
  await Promise.all([page.waitForURL(/template=/), page.locator("[data-testid=apply-template]").click()]);
  assert.equal(await page.locator("#f-subject").inputValue(), `Hello Ada ${TAG} & co`);
  assert.equal(await page.locator("#f-description").inputValue(), `<p>Dear Ada ${TAG} &amp; co</p>`);
  assert.equal(await page.locator("[data-testid=form-alert]").count(), 0);
  assert.equal(new URL(page.url()).searchParams.get("regardingobjectid"), `contact:${CONTACT}`);
  await page.screenshot({ path: join(SHOTS, "email-template-wide.png"), fullPage: true });
  await page.setViewportSize(NARROW);
  await headerFits(NARROW);
  await page.screenshot({ path: join(SHOTS, "email-template-narrow.png"), fullPage: true });
});

await finish();

// What every browser script shares: the environment, the browser, steps
// that report and go on after a failure (with a screenshot of the page),
// sign-in, and desktop + phone screenshots of a screen.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`set ${name}`);
    process.exit(2);
  }
  return v;
}

export const BASE = need("RELATA_URL").replace(/\/$/, "");
export const SHOTS = need("RELATA_SCREENSHOTS");
export const CHROMIUM = process.env.RELATA_CHROMIUM || "/usr/bin/chromium";
export const API = `${BASE}/api/data/v9.2`;
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 812 };
mkdirSync(SHOTS, { recursive: true });

// A hung browser must not hang the cargo test.
setTimeout(() => {
  console.error("FAILED - run.mjs did not finish within 10 minutes");
  process.exit(1);
}, 10 * 60 * 1000).unref();

export const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });

export async function newContext(opts = {}) {
  const phone = opts.phone;
  const ctx = await browser.newContext({
    baseURL: BASE,
    // A fixed browser language so the English assertions do not depend on
    // the machine's locale.
    locale: opts.locale || "en-US",
    viewport: phone ? PHONE : DESKTOP,
    isMobile: !!phone,
    hasTouch: !!phone,
    deviceScaleFactor: 1,
    storageState: opts.storageState,
  });
  ctx.setDefaultTimeout(10000);
  ctx.setDefaultNavigationTimeout(20000);
  return ctx;
}

// ---------------------------------------------------------------- steps

let passed = 0;
const failures = [];
let current = null; // the page the running step last used, for a failure screenshot
let shotNo = 0;

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
}

export async function step(name, fn) {
  current = null;
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (e) {
    let where = "";
    let shot = "";
    if (current && !current.isClosed()) {
      where = current.url();
      shot = join(SHOTS, `FAIL-${slug(name)}.png`);
      await current.screenshot({ path: shot }).catch(() => (shot = ""));
    }
    failures.push(name);
    console.log(`FAILED - ${name}`);
    console.log(`  error: ${(e && e.message) || e}`.replace(/\n/g, "\n  "));
    if (where) console.log(`  page: ${where}`);
    if (shot) console.log(`  screenshot: ${shot}`);
  }
}

export function info(line) {
  console.log(`info - ${line}`);
}

// ---------------------------------------------------------------- helpers

export const path = (page) => new URL(page.url()).pathname;

export async function goto(page, url) {
  current = page;
  const resp = await page.goto(url);
  return resp;
}

// Desktop and phone screenshots of one screen. `phone` is the admin's phone
// page (same session), or a function that brings a fresh phone page of the
// same session to the screen (a screen a POST produced cannot be reloaded);
// by default the phone loads the desktop page's URL.
export async function screen(page, name, phone) {
  shotNo += 1;
  const nn = String(shotNo).padStart(2, "0");
  await shoot(page, join(SHOTS, `${nn}-${name}.png`));
  const file = join(SHOTS, `${nn}-${name}-phone.png`);
  if (phone && typeof phone !== "function") {
    await phone.goto(page.url());
    await shoot(phone, file);
    return;
  }
  const ctx = await newContext({ phone: true, storageState: await page.context().storageState() });
  try {
    const p = await ctx.newPage();
    if (phone) await phone(p);
    else await p.goto(page.url());
    await shoot(p, file);
  } finally {
    await ctx.close();
  }
}

// Headless Chromium under load now and then answers a capture with "Unable
// to capture screenshot" while its compositor is busy; the page is fine and a
// second try a moment later succeeds. Three tries, then the error stands.
async function shoot(page, file) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await page.screenshot({ path: file });
      return;
    } catch (e) {
      if (attempt >= 3 || !/Unable to capture screenshot/.test(String(e && e.message))) throw e;
      await page.waitForTimeout(300 * attempt);
    }
  }
}

// Contract basics every page keeps: one h1, a language, labelled inputs.
export async function checkPage(page, lang = "en") {
  const h1 = await page.locator("h1").count();
  assert.equal(h1, 1, `${path(page)}: expected exactly one h1, found ${h1}`);
  const htmlLang = await page.locator("html").getAttribute("lang");
  assert.equal(htmlLang, lang, `${path(page)}: <html lang> is ${JSON.stringify(htmlLang)}, expected "${lang}"`);
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => !["hidden", "submit", "button", "reset", "image"].includes(el.type))
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  assert.deepEqual(unlabelled, [], `${path(page)}: inputs without a label`);
}

export function sessionCookie(cookies) {
  return cookies.find((c) => c.name === "relata_session");
}

// Fills and submits the sign-in form with the mouse; returns the POST's response.
export async function signIn(page, who, { remember = false, url = "/signin" } = {}) {
  await goto(page, url);
  const form = page.locator("form#signin");
  await form.locator("input[name=email]").fill(who.email);
  await form.locator("input[name=password]").fill(who.password);
  if (remember) await form.locator("input[name=remember]").check();
  const posted = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/signin");
  await form.locator("[type=submit]").first().click();
  const resp = await posted;
  await page.waitForLoadState("domcontentloaded");
  if (path(page) === "/signin") {
    const alert = await page.locator("[role=alert]").first().textContent().catch(() => null);
    throw new Error(`sign-in as ${who.email} stayed on /signin (POST answered ${resp.status()}; alert: ${JSON.stringify(alert)})`);
  }
  return resp;
}

// Rows of the list on the page: id, href and primary name of each.
export async function listRows(page) {
  return page.locator("table[data-testid=list] tbody tr[data-id]").evaluateAll((trs) =>
    trs.map((tr) => {
      const a = tr.querySelector("td a, th a");
      return { id: tr.dataset.id, href: a ? a.getAttribute("href") : null, name: a ? a.textContent.trim() : null };
    }),
  );
}

export async function noOverflow(page) {
  const m = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    viewport: !!document.querySelector("meta[name=viewport]"),
  }));
  assert.ok(
    m.scrollWidth <= PHONE.width,
    `${path(page)} at ${PHONE.width}px: documentElement.scrollWidth is ${m.scrollWidth} (body ${m.bodyScrollWidth}; meta viewport ${m.viewport ? "present" : "missing"})`,
  );
  return m;
}


// The page a step is using, so a failure screenshots it.
export function using(page) {
  current = page;
  return page;
}

// Closes the browser and exits 1 when any step failed.
export async function finish() {
  await browser.close();
  console.log(`${passed} passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}

// Drives the Relata web UI in headless Chromium, the way a person would,
// and checks it against the UI contract: sign-in, the app shell, list and
// record pages, security trimming, language, CSRF, phone layout.
//
//   RELATA_URL=http://127.0.0.1:8080 RELATA_ADMIN_EMAIL=... node run.mjs
//
// The calling test (crates/relata/tests/ui_browser.rs) creates the records
// and users first and passes their names in the environment. Every step
// runs even when an earlier one failed, so one run reports every broken
// part of the contract; the exit code is 1 when any step failed.
// Screenshots (desktop 1280x800 and phone 375x812) go to RELATA_SCREENSHOTS.

import assert from "node:assert/strict";
import {
  need, BASE, API, SHOTS, PHONE, newContext, step, info, path, goto, screen, checkPage, sessionCookie, signIn,
  listRows, noOverflow, using, finish,
} from "./lib.mjs";

const ADMIN = { email: need("RELATA_ADMIN_EMAIL"), password: need("RELATA_ADMIN_PASSWORD"), name: need("RELATA_ADMIN_NAME") };
const USER = { email: need("RELATA_USER_EMAIL"), password: need("RELATA_USER_PASSWORD"), token: need("RELATA_USER_TOKEN") };
// A user whose only role reads accounts (User depth): nothing in Settings.
const READER = { email: need("RELATA_READER_EMAIL"), password: USER.password, token: need("RELATA_READER_TOKEN") };
const ACCOUNT_NAMES = JSON.parse(need("RELATA_ACCOUNT_NAMES"));
const NEEDLE = need("RELATA_NEEDLE");
const NEEDLE_NAME = need("RELATA_NEEDLE_NAME");
const NEEDLE_ID = need("RELATA_NEEDLE_ID").toLowerCase();
const CONTACT_NAME = need("RELATA_CONTACT_NAME");
const USER_ACCOUNT = need("RELATA_USER_ACCOUNT");

const PAGE_SIZE = 50;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHELL_ENTITIES = {
  account: "accounts",
  contact: "contacts",
  lead: "leads",
  opportunity: "opportunities",
  quote: "quotes",
  invoice: "invoices",
};
const AREAS = ["sales", "service", "marketing", "settings"];


// ---------------------------------------------------------------- steps

// ---------------------------------------------------------------- helpers

function parseSetCookie(headers, name) {
  const line = headers.filter((h) => h.name.toLowerCase() === "set-cookie").map((h) => h.value).join("\n")
    .split("\n").find((l) => l.trim().startsWith(`${name}=`));
  if (!line) return null;
  const attrs = {};
  for (const part of line.split(";").slice(1)) {
    const [k, ...v] = part.trim().split("=");
    attrs[k.toLowerCase()] = v.join("=");
  }
  return attrs;
}

const byCodeUnit = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function quickFind(page) {
  // The page's own quick find, not the global search in the header.
  return page.locator("form[role=search]:not(#search) input[name=q]");
}

async function apiReadable(set, token) {
  const r = await fetch(`${API}/${set}?$top=1`, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json", "OData-Version": "4.0" },
  });
  return r.status === 200;
}

// ---------------------------------------------------------------- contexts

// The admin's desktop session, signed in by step 1 with the keyboard (or by
// the mouse when that step failed, so later steps still run).
let adminCtx;
let admin;
let adminPhoneCtx;
let adminPhone;

async function ensureAdmin() {
  if (!adminCtx) adminCtx = await newContext();
  if (!admin) admin = await adminCtx.newPage();
  using(admin);
  if (!sessionCookie(await adminCtx.cookies())) await signIn(admin, ADMIN);
  if (!adminPhoneCtx) {
    adminPhoneCtx = await newContext({ phone: true, storageState: await adminCtx.storageState() });
    adminPhone = await adminPhoneCtx.newPage();
  }
  return admin;
}

// ---------------------------------------------------------------- 1. sign-in

await step("1.1 unauthenticated / and /ui/accounts redirect (303) to /signin?next=", async () => {
  const ctx = await newContext();
  try {
    for (const target of ["/", "/ui/accounts"]) {
      const r = await ctx.request.get(target, { maxRedirects: 0 });
      assert.equal(r.status(), 303, `GET ${target} without a session answered ${r.status()}`);
      const loc = new URL(r.headers()["location"] || "", BASE);
      assert.equal(loc.pathname, "/signin", `GET ${target}: Location is ${r.headers()["location"]}`);
      assert.equal(loc.searchParams.get("next"), target, `GET ${target}: next= in ${r.headers()["location"]}`);
    }
    const page = await ctx.newPage();
    await goto(page, "/");
    assert.equal(path(page), "/signin", "the browser ends on /signin");
    await checkPage(page);
    const form = page.locator("form#signin");
    await form.waitFor();
    assert.equal(await form.locator("input[name=email]").count(), 1, "input[name=email]");
    assert.equal(await form.locator("input[name=password]").getAttribute("type"), "password", "password input type");
    assert.equal(await form.locator("input[name=remember]").getAttribute("type"), "checkbox", "remember is a checkbox");
    assert.ok((await form.locator("[type=submit]").count()) >= 1, "a submit button");
    assert.equal(await form.locator("input[type=hidden][name=csrf]").count(), 1, "form#signin carries input[name=csrf]");
    // Labels, as a screen reader finds them.
    assert.equal(await page.getByLabel(/e-?mail/i).getAttribute("name"), "email", "getByLabel(/email/) is the email input");
    assert.equal(await page.getByLabel(/password/i).getAttribute("name"), "password", "getByLabel(/password/) is the password input");
    assert.equal(await page.getByLabel(/remember/i).getAttribute("name"), "remember", "getByLabel(/remember/) is the checkbox");
    await screen(page, "signin");
  } finally {
    await ctx.close();
  }
});

async function wrongPassword(page) {
  await goto(page, "/signin");
  const form = page.locator("form#signin");
  await form.locator("input[name=email]").fill(ADMIN.email);
  await form.locator("input[name=password]").fill("not-the-password");
  const posted = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/signin");
  await form.locator("[type=submit]").first().click();
  const resp = await posted;
  await page.waitForLoadState("domcontentloaded");
  return resp;
}

await step("1.2 wrong password shows [role=alert] and sets no session cookie", async () => {
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    const resp = await wrongPassword(page);
    assert.ok([200, 401].includes(resp.status()), `POST /signin with a wrong password answered ${resp.status()}`);
    assert.equal(path(page), "/signin");
    const alert = page.locator("[role=alert]");
    await alert.first().waitFor();
    const text = (await alert.first().textContent()).trim();
    assert.ok(text.length > 0, "the alert has a message");
    assert.equal(sessionCookie(await ctx.cookies()), undefined, "no relata_session cookie after a failed sign-in");
    await checkPage(page);
    info(`wrong-password alert: ${JSON.stringify(text)}`);
    await screen(page, "signin-error", wrongPassword);
  } finally {
    await ctx.close();
  }
});

await step("1.3 keyboard-only sign-in as the admin lands on / with a session cookie", async () => {
  adminCtx = await newContext();
  admin = await adminCtx.newPage();
  await goto(admin, "/signin");
  const active = () => admin.evaluate(() => document.activeElement && document.activeElement.getAttribute("name"));
  let tabs = 0;
  while ((await active()) !== "email") {
    assert.ok(tabs++ < 15, "Tab never reached the email input");
    await admin.keyboard.press("Tab");
  }
  await admin.keyboard.type(ADMIN.email);
  tabs = 0;
  while ((await active()) !== "password") {
    assert.ok(tabs++ < 3, "Tab from email never reached the password input");
    await admin.keyboard.press("Tab");
  }
  await admin.keyboard.type(ADMIN.password);
  const posted = admin.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/signin");
  await admin.keyboard.press("Enter");
  const resp = await posted;
  assert.equal(resp.status(), 303, `POST /signin answered ${resp.status()}`);
  assert.equal(new URL(resp.headers()["location"] || "", BASE).pathname, "/", `Location: ${resp.headers()["location"]}`);
  await admin.waitForURL((u) => u.pathname === "/");
  const attrs = parseSetCookie(await resp.headersArray(), "relata_session");
  assert.ok(attrs, "POST /signin sets relata_session");
  assert.ok("httponly" in attrs, "relata_session is HttpOnly");
  assert.equal((attrs.samesite || "").toLowerCase(), "lax", "relata_session is SameSite=Lax");
  assert.equal(attrs.path, "/", "relata_session has Path=/");
  assert.ok(!("max-age" in attrs) && !("expires" in attrs), "without remember the cookie is a session cookie (no Max-Age/Expires)");
  const c = sessionCookie(await adminCtx.cookies());
  assert.ok(c && c.httpOnly && c.expires === -1, `browser cookie: ${JSON.stringify(c)}`);
});

await step("1.4 remember me gives a persistent cookie, and next= is followed", async () => {
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    await goto(page, "/ui/accounts");
    assert.equal(path(page), "/signin");
    const resp = await signIn(page, ADMIN, { remember: true, url: page.url() });
    assert.equal(resp.status(), 303);
    assert.equal(new URL(resp.headers()["location"] || "", BASE).pathname, "/ui/accounts", `Location: ${resp.headers()["location"]}`);
    assert.equal(path(page), "/ui/accounts");
    const attrs = parseSetCookie(await resp.headersArray(), "relata_session");
    assert.ok(attrs && (attrs["max-age"] || attrs.expires), `with remember the cookie has Max-Age: ${JSON.stringify(attrs)}`);
    const c = sessionCookie(await ctx.cookies());
    assert.ok(c.expires > Date.now() / 1000 + 3600, `browser cookie expiry: ${c.expires}`);
  } finally {
    await ctx.close();
  }
});

await step("1.5 next= pointing off the site is not followed", async () => {
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    for (const next of ["https://example.com/x", "//example.com/x"]) {
      await ctx.clearCookies();
      await goto(page, `/signin?next=${encodeURIComponent(next)}`);
      const form = page.locator("form#signin");
      await form.locator("input[name=email]").fill(ADMIN.email);
      await form.locator("input[name=password]").fill(ADMIN.password);
      const posted = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/signin");
      // The redirect target is checked on the response; the browser is not
      // let out to the network.
      await page.route(/^(?!http:\/\/127\.0\.0\.1)/, (route) => route.abort());
      await form.locator("[type=submit]").first().click().catch(() => {});
      const resp = await posted;
      const loc = new URL(resp.headers()["location"] || "", BASE);
      assert.equal(resp.status(), 303);
      assert.equal(loc.origin, BASE, `next=${next} redirected to ${resp.headers()["location"]}`);
      await page.unrouteAll();
    }
  } finally {
    await ctx.close();
  }
});

// ---------------------------------------------------------------- 2. the shell

await step("2.1 the shell shows the admin's name, the four areas, the sales links, search and sign-out", async () => {
  const page = await ensureAdmin();
  await goto(page, "/");
  assert.equal(path(page), "/");
  await checkPage(page);
  const name = (await page.locator("[data-testid=user-name]").first().textContent()).trim();
  assert.ok(name.includes(ADMIN.name), `user name shows ${JSON.stringify(name)}, expected ${ADMIN.name}`);
  const nav = page.locator("nav[aria-label]");
  assert.ok((await nav.count()) >= 1, "nav[aria-label]");
  for (const area of AREAS) {
    assert.equal(await page.locator(`nav[aria-label] [data-area=${area}]`).count(), 1, `area ${area} in the nav`);
  }
  for (const [entity, set] of Object.entries(SHELL_ENTITIES)) {
    // An entity may sit in more than one area (accounts: sales and service).
    const hrefs = await page.locator(`nav[aria-label] a[data-entity=${entity}]`).evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    assert.ok(hrefs.length >= 1, `a link a[data-entity=${entity}]`);
    for (const h of hrefs) assert.equal(new URL(h, BASE).pathname, `/ui/${set}`, `a[data-entity=${entity}] href`);
  }
  const search = page.locator("form#search");
  assert.equal((await search.getAttribute("method") || "get").toLowerCase(), "get", "form#search is GET");
  assert.equal(new URL(await search.getAttribute("action"), BASE).pathname, "/ui/search", "form#search action");
  assert.equal(await search.locator("input[name=q]").count(), 1, "form#search input[name=q]");
  const signout = page.locator("form#signout");
  assert.equal((await signout.getAttribute("method") || "").toLowerCase(), "post", "form#signout is POST");
  assert.equal(new URL(await signout.getAttribute("action"), BASE).pathname, "/signout", "form#signout action");
  assert.equal(await signout.locator("input[type=hidden][name=csrf]").count(), 1, "form#signout carries input[name=csrf]");
  await screen(page, "shell", adminPhone);
});

await step("2.2 every sales link opens its list page", async () => {
  const page = await ensureAdmin();
  const labels = { account: "Accounts", contact: "Contacts", lead: "Leads", opportunity: "Opportunities", quote: "Quotes", invoice: "Invoices" };
  for (const [entity, set] of Object.entries(SHELL_ENTITIES)) {
    await goto(page, "/");
    await page.locator(`nav[aria-label] a[data-entity=${entity}]`).first().click();
    await page.waitForURL((u) => u.pathname === `/ui/${set}`);
    await checkPage(page);
    assert.equal((await page.locator("h1").textContent()).trim(), labels[entity], `h1 of /ui/${set}`);
    const rows = await page.locator("table[data-testid=list] tbody tr[data-id]").count();
    const empty = await page.locator("[data-testid=empty]").count();
    assert.ok(rows > 0 || empty > 0, `/ui/${set} shows rows or [data-testid=empty]`);
  }
});

// ---------------------------------------------------------------- 3. lists and records

const sortedNames = [...ACCOUNT_NAMES].sort(byCodeUnit);

await step("3.1 the accounts list shows 50 rows and a next link", async () => {
  const page = await ensureAdmin();
  const resp = await goto(page, "/ui/accounts");
  assert.equal(resp.status(), 200);
  await checkPage(page);
  assert.equal((await page.locator("h1").textContent()).trim(), "Accounts");
  const rows = await listRows(page);
  assert.equal(rows.length, PAGE_SIZE, `rows on page 1 (of ${ACCOUNT_NAMES.length} accounts)`);
  for (const r of rows) {
    assert.match(r.id, GUID, "tr[data-id] is a GUID");
    assert.equal(new URL(r.href, BASE).pathname, `/ui/accounts/${r.id}`, `first cell links to the record (${r.href})`);
    assert.ok(ACCOUNT_NAMES.includes(r.name), `first cell shows the primary name, got ${JSON.stringify(r.name)}`);
  }
  assert.equal(await page.locator("a[rel=next]").count(), 1, "a[rel=next] on page 1");
  assert.equal(await page.locator("a[rel=prev]").count(), 0, "no a[rel=prev] on page 1");
  await screen(page, "accounts-list", adminPhone);
});

await step("3.2 next and prev page through the list", async () => {
  const page = await ensureAdmin();
  await goto(page, "/ui/accounts");
  const first = await listRows(page);
  await page.locator("a[rel=next]").first().click();
  await page.waitForLoadState("domcontentloaded");
  const second = await listRows(page);
  assert.equal(second.length, ACCOUNT_NAMES.length - PAGE_SIZE, "rows on page 2");
  const ids = new Set(first.map((r) => r.id));
  assert.ok(second.every((r) => !ids.has(r.id)), "page 2 repeats no row of page 1");
  const all = new Set([...first, ...second].map((r) => r.name));
  assert.equal(all.size, ACCOUNT_NAMES.length, "the two pages together show every account once");
  assert.equal(await page.locator("a[rel=next]").count(), 0, "no a[rel=next] on the last page");
  assert.equal(await page.locator("a[rel=prev]").count(), 1, "a[rel=prev] on page 2");
  await screen(page, "accounts-list-page2");
  await page.locator("a[rel=prev]").first().click();
  await page.waitForLoadState("domcontentloaded");
  assert.deepEqual((await listRows(page)).map((r) => r.id), first.map((r) => r.id), "prev returns to page 1");
});

await step("3.3 sorting by name, and reversed on the second click (aria-sort)", async () => {
  const page = await ensureAdmin();
  await goto(page, "/ui/accounts");
  const header = () => page.locator("table[data-testid=list] thead a[data-sort=name]").first();
  const th = () => page.locator("table[data-testid=list] thead th").filter({ has: page.locator("a[data-sort=name]") }).first();
  const seen = [];
  for (let click = 1; click <= 2; click++) {
    await header().click();
    await page.waitForLoadState("domcontentloaded");
    const dir = await th().getAttribute("aria-sort");
    assert.ok(["ascending", "descending"].includes(dir), `click ${click}: aria-sort on the name th is ${JSON.stringify(dir)}`);
    const names = (await listRows(page)).map((r) => r.name);
    const expected = (dir === "ascending" ? sortedNames : [...sortedNames].reverse()).slice(0, PAGE_SIZE);
    assert.deepEqual(names, expected, `click ${click}: page 1 sorted ${dir} by name`);
    seen.push(dir);
  }
  assert.notEqual(seen[0], seen[1], "the second click reverses the order");
  // Sorting must survive paging.
  await page.locator("a[rel=next]").first().click();
  await page.waitForLoadState("domcontentloaded");
  const rest = (await listRows(page)).map((r) => r.name);
  const expected = (seen[1] === "ascending" ? sortedNames : [...sortedNames].reverse()).slice(PAGE_SIZE);
  assert.deepEqual(rest, expected, "page 2 continues the sort order");
});

await step("3.4 quick find (contains, case-insensitive) finds exactly the tagged account", async () => {
  const page = await ensureAdmin();
  await goto(page, "/ui/accounts");
  const q = quickFind(page);
  await q.fill(NEEDLE.toUpperCase());
  await q.press("Enter");
  await page.waitForURL((u) => u.searchParams.has("q"));
  const rows = await listRows(page);
  assert.deepEqual(rows.map((r) => r.name), [NEEDLE_NAME], "quick find rows");
  assert.equal(rows[0].id.toLowerCase(), NEEDLE_ID);
  await checkPage(page);
  await screen(page, "accounts-quick-find");
});

await step("3.5 a quick find with no match shows [data-testid=empty]", async () => {
  const page = await ensureAdmin();
  await goto(page, "/ui/accounts");
  const q = quickFind(page);
  await q.fill(`zz-no-such-${NEEDLE}`);
  await q.press("Enter");
  await page.waitForURL((u) => u.searchParams.has("q"));
  assert.equal((await listRows(page)).length, 0, "no rows");
  assert.ok(await page.locator("[data-testid=empty]").first().isVisible(), "[data-testid=empty] is visible");
});

await step("3.6 the record page shows the name in h1 and labelled values (option set by label, lookup by name)", async () => {
  const page = await ensureAdmin();
  await goto(page, `/ui/accounts?q=${encodeURIComponent(NEEDLE)}`);
  await page.locator(`tr[data-id] a`).filter({ hasText: NEEDLE_NAME }).first().click();
  await page.waitForURL((u) => u.pathname.startsWith("/ui/accounts/"));
  assert.equal(path(page).toLowerCase(), `/ui/accounts/${NEEDLE_ID}`);
  await checkPage(page);
  assert.equal((await page.locator("h1").textContent()).trim(), NEEDLE_NAME, "h1 is the primary name");
  const pairs = await page.locator("[data-testid=fields]").evaluate((dl) => {
    const out = [];
    let dt = null;
    for (const el of dl.querySelectorAll("dt, dd")) {
      if (el.tagName === "DT") dt = el.textContent.trim();
      else out.push([dt, el.textContent.trim().replace(/\s+/g, " ")]);
    }
    return out;
  });
  info(`record fields: ${pairs.map(([k, v]) => `${k}=${v}`).join("; ")}`);
  assert.ok(pairs.length > 0, "[data-testid=fields] has dt/dd pairs");
  assert.ok(pairs.every(([k]) => k), "every value has a label (dt)");
  assert.ok(pairs.some(([, v]) => v === NEEDLE_NAME), "the name is among the fields");
  const guidShown = pairs.filter(([, v]) => GUID.test(v));
  assert.deepEqual(guidShown, [], "no value is shown as a bare GUID (lookups show names)");
  const get = (label) => pairs.find(([k]) => k === label)?.[1];
  assert.equal(get("Industry"), "Consulting", "Industry (option set 7) shown by its label");
  assert.ok((get("Primary Contact") || "").includes(CONTACT_NAME), `Primary Contact shown by name, got ${JSON.stringify(get("Primary Contact"))}`);
  await screen(page, "account-record", adminPhone);
});

await step("3.7 the record is edited through its form: labelled inputs, a bad number shown at its field, then saved", async () => {
  const page = await ensureAdmin();
  await goto(page, `/ui/accounts/${NEEDLE_ID}`);
  await page.locator("[data-testid=edit]").click();
  await page.waitForURL((u) => u.pathname.endsWith("/edit"));
  await checkPage(page);
  await page.getByLabel("Main Phone", { exact: true }).fill("+1 555 0177");
  await page.getByLabel("Annual Revenue", { exact: true }).fill("not a number");
  await page.locator("form#record button[type=submit]").click();
  await page.waitForLoadState();
  assert.ok(await page.locator("#e-revenue").isVisible(), "the bad number is explained at its field");
  await screen(page, "account-edit-error");
  await page.getByLabel("Annual Revenue", { exact: true }).fill("1250.50");
  await page.locator("form#record button[type=submit]").click();
  await page.waitForURL((u) => u.pathname.toLowerCase() === `/ui/accounts/${NEEDLE_ID}`);
  const text = await page.locator("[data-testid=fields]").textContent();
  assert.ok(text.includes("+1 555 0177"), "the saved phone is shown");
  await screen(page, "account-after-edit");
});

// ---------------------------------------------------------------- 4. security trimming

let userCtx;
let userPage;

await step("4.1 a Salesperson sees only their own account", async () => {
  userCtx = await newContext();
  userPage = await userCtx.newPage();
  await signIn(userPage, USER);
  await goto(userPage, "/ui/accounts");
  await checkPage(userPage);
  const rows = await listRows(userPage);
  assert.deepEqual(rows.map((r) => r.name), [USER_ACCOUNT], "the Salesperson's accounts list");
  await screen(userPage, "salesperson-accounts");
  // The admin's record is not reachable by its URL either.
  const resp = await goto(userPage, `/ui/accounts/${NEEDLE_ID}`);
  assert.ok([403, 404].includes(resp.status()), `the admin's account by URL answered ${resp.status()}`);
  assert.ok(!(await userPage.content()).includes(NEEDLE_NAME), "the admin's account name is not on the page");
});

// Which of the admin's nav links a user gets must follow what the Web API
// lets that user read: unreadable entities are neither linked nor served.
async function navFollowsPrivileges(userCtx, userPage, token) {
  const page = await ensureAdmin();
  await goto(page, "/");
  const adminLinks = await page.locator("nav[aria-label] a[data-entity]").evaluateAll((as) =>
    as.map((a) => ({ entity: a.dataset.entity, href: a.getAttribute("href") })),
  );
  await goto(userPage, "/");
  const userLinks = new Set(
    await userPage.locator("nav[aria-label] a[data-entity]").evaluateAll((as) => as.map((a) => a.dataset.entity)),
  );
  const problems = [];
  const checked = new Set();
  for (const { entity, href } of adminLinks) {
    if (checked.has(entity)) continue;
    checked.add(entity);
    const set = new URL(href, BASE).pathname.replace(/^\/ui\//, "");
    const readable = await apiReadable(set, token);
    if (readable && !userLinks.has(entity)) problems.push(`${entity}: readable but not linked`);
    if (!readable && userLinks.has(entity)) problems.push(`${entity}: linked but not readable`);
    if (!readable) {
      const r = await userCtx.request.get(`/ui/${set}`, { maxRedirects: 0 });
      if (![403, 404].includes(r.status())) problems.push(`/ui/${set}: not readable but answered ${r.status()}`);
    }
  }
  const emptyAreas = await userPage.locator("nav[aria-label] [data-area]").evaluateAll((els) =>
    els.filter((el) => !el.querySelector("a[data-entity]")).map((el) => el.dataset.area),
  );
  if (emptyAreas.length) problems.push(`areas shown without links: ${emptyAreas.join(", ")}`);
  const areas = await userPage.locator("nav[aria-label] [data-area]").evaluateAll((els) => els.map((el) => el.dataset.area));
  return { problems, links: userLinks, areas };
}

await step("4.2 the Salesperson's nav links what they may read; Roles follows prvReadRole", async () => {
  using(userPage);
  const { problems, links, areas } = await navFollowsPrivileges(userCtx, userPage, USER.token);
  const readsRoles = await apiReadable("roles", USER.token);
  // The standard Salesperson role reads roles (Organization), so the
  // contract's rule shows the link; a user without the privilege is step 4.3.
  info(
    `Salesperson: Web API read of roles ${readsRoles ? "allowed" : "denied"}, Roles link ${links.has("role") ? "shown" : "not shown"}; ` +
      `areas: ${areas.join(", ")}; entities: ${[...links].join(", ")}`,
  );
  assert.equal(links.has("role"), readsRoles, "the Roles link is shown exactly when the user may read roles");
  assert.deepEqual(problems, [], "the nav follows the Salesperson's read privileges");
});

await step("4.3 a user who may read only accounts: no Roles link, no Settings area, /ui/roles refused", async () => {
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    await signIn(page, READER);
    await goto(page, "/");
    await checkPage(page);
    const { problems, links, areas } = await navFollowsPrivileges(ctx, page, READER.token);
    using(page);
    info(`accounts-only reader: areas: ${areas.join(", ")}; entities: ${[...links].join(", ")}`);
    assert.deepEqual(problems, [], "the nav follows the reader's read privileges");
    assert.ok(!links.has("role"), "no Roles link");
    assert.ok(!areas.includes("settings"), "no Settings area");
    await screen(page, "reader-shell");
    const r = await goto(page, "/ui/roles");
    assert.equal(r.status(), 403, `/ui/roles for a user who may not read roles answered ${r.status()}`);
    await checkPage(page);
    await screen(page, "reader-roles-403");
  } finally {
    await ctx.close();
  }
});

// ---------------------------------------------------------------- 5. language

await step("5.1 ?lang=ru switches the session to Russian", async () => {
  // Its own session: the language may be kept with the session on the server.
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    await signIn(page, ADMIN);
    await goto(page, "/ui/accounts?lang=ru");
    await checkPage(page, "ru");
    assert.equal((await page.locator("h1").textContent()).trim(), "Организации", "accounts h1 in Russian");
    assert.ok((await ctx.cookies()).some((c) => c.name === "relata_lang"), "relata_lang cookie");
    await screen(page, "accounts-list-ru");
    await goto(page, "/");
    assert.equal(await page.locator("html").getAttribute("lang"), "ru", "Russian sticks for the session without ?lang");
    await goto(page, "/ui/accounts?lang=en");
    assert.equal((await page.locator("h1").textContent()).trim(), "Accounts", "?lang=en switches back");
  } finally {
    await ctx.close();
  }
});

await step("5.2 the sign-in page in Russian: by ?lang=ru and by Accept-Language", async () => {
  for (const how of ["query", "accept-language"]) {
    const ctx = await newContext(how === "query" ? {} : { locale: "ru-RU" });
    try {
      const page = await ctx.newPage();
      await goto(page, how === "query" ? "/signin?lang=ru" : "/signin");
      assert.equal(await page.locator("html").getAttribute("lang"), "ru", `${how}: <html lang>`);
      const button = (await page.locator("form#signin [type=submit]").first().evaluate((b) => b.textContent || b.value)).trim();
      assert.equal(button, "Войти", `${how}: sign-in button text`);
      if (how === "query") await screen(page, "signin-ru");
    } finally {
      await ctx.close();
    }
  }
});

// ---------------------------------------------------------------- 6. CSRF and sign-out

await step("6.1 POST /signout without or with a wrong csrf is 403 and the session stays", async () => {
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    await signIn(page, ADMIN);
    await goto(page, "/");
    const statuses = await page.evaluate(async () => {
      const out = [];
      let r = await fetch("/signout", { method: "POST", redirect: "manual" });
      out.push(r.status);
      r = await fetch("/signout", {
        method: "POST",
        redirect: "manual",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: "csrf=wrong",
      });
      out.push(r.status);
      return out;
    });
    assert.deepEqual(statuses, [403, 403], "POST /signout without csrf, then with a wrong csrf");
    await goto(page, "/");
    assert.equal(path(page), "/", "still signed in");
    assert.ok(await page.locator("[data-testid=user-name]").first().isVisible(), "the user name still shows");
  } finally {
    await ctx.close();
  }
});

await step("6.2 signing out with the form ends the session; / then redirects to /signin", async () => {
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    await signIn(page, ADMIN);
    await goto(page, "/");
    const before = sessionCookie(await ctx.cookies());
    const button = page.locator("form#signout [type=submit]").first();
    if (await button.isVisible()) await button.click();
    else await page.locator("form#signout").evaluate((f) => f.requestSubmit());
    await page.waitForURL((u) => u.pathname === "/signin");
    const after = sessionCookie(await ctx.cookies());
    assert.ok(!after || after.value !== before.value, "the session cookie is cleared");
    await goto(page, "/");
    assert.equal(path(page), "/signin", "/ after sign-out");
    // The old cookie no longer works: the session ended on the server too.
    const replay = await newContext();
    try {
      await replay.addCookies([{ name: before.name, value: before.value, url: BASE }]);
      const r = await replay.request.get("/", { maxRedirects: 0 });
      assert.equal(r.status(), 303, `the old session cookie after sign-out: GET / answered ${r.status()}`);
    } finally {
      await replay.close();
    }
  } finally {
    await ctx.close();
  }
});

// ---------------------------------------------------------------- 7. phone layout

await step("7.1 at 375 px the shell and the list do not scroll sideways", async () => {
  await ensureAdmin();
  const page = adminPhone;
  using(page);
  const measured = [];
  for (const url of ["/", "/ui/accounts"]) {
    await goto(page, url);
    measured.push(`${url} ${(await noOverflow(page)).scrollWidth}px`);
  }
  // Not in the contract's assertion list, but worth seeing.
  for (const url of [`/ui/accounts/${NEEDLE_ID}`]) {
    await goto(page, url);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    measured.push(`${url} ${w}px`);
  }
  const ctx = await newContext({ phone: true });
  try {
    const p = await ctx.newPage();
    await goto(p, "/signin");
    measured.push(`/signin ${await p.evaluate(() => document.documentElement.scrollWidth)}px`);
  } finally {
    await ctx.close();
  }
  info(`scrollWidth at 375 px: ${measured.join(", ")}`);
});

// ---------------------------------------------------------------- 8. page weight

async function weigh(label, url) {
  // A fresh context: nothing cached, so every subresource is counted.
  const ctx = await newContext({ storageState: await adminCtx.storageState() });
  try {
    const page = await ctx.newPage();
    using(page);
    const pending = [];
    page.on("requestfinished", (req) =>
      pending.push(
        (async () => {
          const sizes = await req.sizes().catch(() => ({ responseBodySize: 0 }));
          const resp = await req.response();
          const body = resp ? await resp.body().catch(() => Buffer.alloc(0)) : Buffer.alloc(0);
          return { url: req.url(), type: req.resourceType(), wire: sizes.responseBodySize, decoded: body.length };
        })(),
      ),
    );
    const resp = await page.goto(url, { waitUntil: "networkidle" });
    assert.equal(resp.status(), 200, `${url} answered ${resp.status()}`);
    const timing = await page.evaluate(() => {
      const n = performance.getEntriesByType("navigation")[0];
      return n ? { ttfb: n.responseStart - n.requestStart, load: n.loadEventEnd - n.startTime } : null;
    });
    const all = await Promise.all(pending);
    const wire = all.reduce((s, r) => s + r.wire, 0);
    const decoded = all.reduce((s, r) => s + r.decoded, 0);
    const serverTiming = resp.headers()["server-timing"] || "n/a";
    const kinds = {};
    for (const r of all) kinds[r.type] = (kinds[r.type] || 0) + 1;
    info(
      `${label}: ${all.length} responses (${Object.entries(kinds).map(([k, v]) => `${v} ${k}`).join(", ")}), ` +
        `${wire} bytes transferred (${decoded} decoded), Server-Timing: ${serverTiming}` +
        (timing ? `, TTFB ${timing.ttfb.toFixed(1)} ms, load ${timing.load.toFixed(1)} ms` : ""),
    );
  } finally {
    await ctx.close();
  }
}

await step("8.1 page weight and server time (printed, not asserted)", async () => {
  await ensureAdmin();
  await weigh("accounts list", "/ui/accounts");
  await weigh("account record", `/ui/accounts/${NEEDLE_ID}`);
});

await finish();

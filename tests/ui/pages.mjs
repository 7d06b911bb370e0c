// Every page the navigation offers opens, for an administrator and for a
// Salesperson: for each entity in the menu, its list, its first record's
// page, that record's edit form (when offered) and its new form (when the
// list offers one). Generated from the navigation, which is generated from
// metadata and rights: a page that answers 4xx/5xx although it was offered
// fails here, whatever entity it is.
//
// Env: RELATA_REP_EMAIL (a Salesperson), RELATA_USER_PASSWORD.

import assert from "node:assert/strict";
import { BASE, finish, goto, info, need, newContext, signIn, step, using } from "./lib.mjs";

const admin = { email: need("RELATA_ADMIN_EMAIL"), password: need("RELATA_ADMIN_PASSWORD") };
const rep = { email: need("RELATA_REP_EMAIL"), password: need("RELATA_USER_PASSWORD") };

// Opens a page the UI offered; any 4xx/5xx is a failure naming it.
async function opens(page, url, what) {
  const resp = await goto(page, url);
  const status = resp ? resp.status() : 0;
  if (status >= 400) {
    const alert = await page.locator("[role=alert]").first().textContent().catch(() => "");
    throw new Error(`${what} ${url} answered ${status}${alert ? `: ${alert.trim()}` : ""}`);
  }
  const h1 = await page.locator("h1").count();
  assert.equal(h1, 1, `${what} ${url}: expected one h1, found ${h1}`);
}

async function sweep(who, label) {
  const ctx = await newContext();
  const page = using(await ctx.newPage());
  await signIn(page, who);
  await goto(page, "/");
  const lists = await page
    .locator("nav a[href^='/ui/']")
    .evaluateAll((as) => [...new Set(as.map((a) => a.getAttribute("href")).filter((h) => /^\/ui\/[a-z_0-9]+$/.test(h)))]);
  assert.ok(lists.length > 3, `${label}: the navigation offers only ${lists.length} lists`);
  let opened = 0;
  for (const list of lists) {
    await step(`${label}: ${list} — list, record, edit and new form open`, async () => {
      using(page);
      await opens(page, list, "list");
      opened += 1;
      const set = list.split("/")[2];
      // Read what the page offers without waiting for what it does not.
      const hrefs = (selector) => page.locator(selector).evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      const [first] = await hrefs(`table[data-testid=list] tbody tr[data-id] a[href^='/ui/${set}/']`);
      const news = await hrefs("a[data-testid^=new]");
      if (first) {
        await opens(page, first, "record page");
        opened += 1;
        const [edit] = await hrefs(`a[href='${first}/edit']`);
        if (edit) {
          await opens(page, edit, "edit form");
          opened += 1;
        }
      }
      for (const href of news) {
        await opens(page, href, "new form");
        opened += 1;
      }
    });
  }
  info(`${label}: ${lists.length} lists, ${opened} pages opened`);
  await ctx.close();
}

await sweep(admin, "System Administrator");
await sweep(rep, "Salesperson");
await finish();

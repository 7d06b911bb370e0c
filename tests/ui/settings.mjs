// The administrator's settings in Chromium: from the Settings home to a
// role's privilege grid, a depth changed with the keyboard and saved, and
// the result read back through the Web API.

import assert from "node:assert/strict";
import { need, API, newContext, step, goto, screen, checkPage, signIn, using, finish } from "./lib.mjs";

const ADMIN = { email: need("RELATA_ADMIN_EMAIL"), password: need("RELATA_ADMIN_PASSWORD") };
const TOKEN = need("RELATA_ADMIN_TOKEN");
const ROLE = need("RELATA_ROLE_ID").toLowerCase();

async function privileges() {
  const r = await fetch(`${API}/RetrieveRolePrivilegesRole(RoleId=@r)?@r=${ROLE}`, {
    headers: { Authorization: `Bearer ${TOKEN}`, Accept: "application/json", "OData-Version": "4.0" },
  });
  assert.equal(r.status, 200);
  return Object.fromEntries((await r.json()).RolePrivileges.map((p) => [p.PrivilegeName, p.Depth]));
}

const ctx = await newContext();
const page = await ctx.newPage();
await signIn(page, ADMIN);

await step("1 Settings lists the administrator's screens", async () => {
  using(page);
  await goto(page, "/ui/settings");
  await checkPage(page);
  const links = await page.locator("[data-testid=settings] a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  for (const href of ["/ui/systemusers", "/ui/settings/units", "/ui/roles", "/ui/settings/licenses", "/ui/settings/audit"]) {
    assert.ok(links.includes(href), `Settings links ${href}: ${links.join(", ")}`);
  }
});

await step("2 a depth chosen in the grid with the keyboard is saved", async () => {
  using(page);
  await goto(page, `/ui/roles/${ROLE}`);
  await page.locator("[data-testid=more]").click();
  await page.waitForURL(new RegExp(`/ui/settings/roles/${ROLE}`));
  await checkPage(page);
  const cell = page.locator("select[data-privilege=prvReadContact]");
  await cell.focus();
  await cell.selectOption("4");
  assert.equal(await cell.locator("xpath=..").getAttribute("data-depth"), "4", "the circle follows the choice");
  await page.locator("input[name='g.prvExportToExcel']").check();
  await screen(page, "role-grid");
  await Promise.all([page.waitForURL(/done=1/), page.locator("[data-testid=save-role]").click()]);
  const held = await privileges();
  assert.equal(held.prvReadContact, "Deep");
  assert.equal(held.prvExportToExcel, "Global");
  assert.equal(await page.locator("select[data-privilege=prvReadContact]").inputValue(), "4");
});

await step("3 the audit viewer shows the role change's entries filtered by table", async () => {
  using(page);
  await goto(page, "/ui/settings/audit");
  await checkPage(page);
  assert.ok((await page.locator("[data-testid=audit] tbody tr").count()) > 0);
  await screen(page, "audit");
});

await finish();

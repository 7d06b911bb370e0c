// Drives a Relata server with the dynamics-web-api client library, the way a
// Dataverse integration would, and checks every result.
//
//   RELATA_URL=http://127.0.0.1:8080 RELATA_TOKEN=... node run.mjs
//
// Exits 0 when every step passes; otherwise prints the failing step and
// exits 1.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { DynamicsWebApi } from "dynamics-web-api";

const serverUrl = process.env.RELATA_URL;
const token = process.env.RELATA_TOKEN;
if (!serverUrl || !token) {
  console.error("set RELATA_URL and RELATA_TOKEN");
  process.exit(2);
}

const api = new DynamicsWebApi({
  serverUrl,
  dataApi: { version: "9.2" },
  onTokenRefresh: async () => token,
  propagateErrors: true,
  timeout: 60000,
});

const tag = randomUUID().slice(0, 8);
let passed = 0;

async function step(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (e) {
    console.error(`FAILED - ${name}`);
    if (e && typeof e === "object") {
      const details = { message: e.message, status: e.status, code: e.code };
      console.error(JSON.stringify(details));
      if (e.stack && !e.status) console.error(e.stack);
    } else {
      console.error(String(e));
    }
    process.exit(1);
  }
}

const isGuid = (s) => typeof s === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

let accountId;
let contactId;
const names = [];

await step("create an account", async () => {
  accountId = await api.create({ collection: "accounts", data: { name: `Client ${tag} main`, revenue: 1234567.89 } });
  assert.ok(isGuid(accountId), `create returns the id, got ${JSON.stringify(accountId)}`);
});

await step("create with returnRepresentation", async () => {
  const rec = await api.create({
    collection: "accounts",
    data: { name: `Client ${tag} repr` },
    returnRepresentation: true,
    select: ["name", "accountid"],
  });
  assert.equal(rec.name, `Client ${tag} repr`);
  assert.ok(isGuid(rec.accountid));
  assert.ok(rec["@odata.etag"], "etag in the representation");
});

await step("retrieve with select", async () => {
  const rec = await api.retrieve({ collection: "accounts", key: accountId, select: ["name", "revenue"] });
  assert.equal(rec.name, `Client ${tag} main`);
  assert.equal(Number(rec.revenue), 1234567.89);
  assert.equal(rec.telephone1, undefined, "unselected column absent");
});

await step("update", async () => {
  await api.update({ collection: "accounts", key: accountId, data: { telephone1: "555-0199" } });
  const rec = await api.retrieve({ collection: "accounts", key: accountId, select: ["telephone1"] });
  assert.equal(rec.telephone1, "555-0199");
});

await step("update with ifmatch (stale etag fails)", async () => {
  const rec = await api.retrieve({ collection: "accounts", key: accountId, select: ["name"] });
  const etag = rec["@odata.etag"];
  await api.update({ collection: "accounts", key: accountId, data: { telephone2: "1" }, ifmatch: etag });
  let status;
  try {
    await api.update({ collection: "accounts", key: accountId, data: { telephone2: "2" }, ifmatch: etag });
  } catch (e) {
    status = e.status;
  }
  assert.equal(status, 412, "a stale etag is a 412");
});

await step("upsert", async () => {
  const id = randomUUID();
  await api.upsert({ collection: "accounts", key: id, data: { name: `Client ${tag} upsert` } });
  const rec = await api.retrieve({ collection: "accounts", key: id, select: ["name"] });
  assert.equal(rec.name, `Client ${tag} upsert`);
});

await step("create more accounts", async () => {
  for (let i = 0; i < 7; i++) {
    const name = `Client ${tag} page ${i}`;
    names.push(name);
    await api.create({ collection: "accounts", data: { name, numberofemployees: i } });
  }
});

await step("retrieveMultiple with filter, orderBy and maxPageSize", async () => {
  const res = await api.retrieveMultiple({
    collection: "accounts",
    select: ["name", "numberofemployees"],
    filter: `startswith(name,'Client ${tag} page')`,
    orderBy: ["numberofemployees desc"],
    maxPageSize: 3,
  });
  assert.equal(res.value.length, 3);
  assert.deepEqual(
    res.value.map((r) => r.name),
    [names[6], names[5], names[4]],
  );
  assert.ok(res.oDataNextLink, "a next link for more pages");
  const next = await api.retrieveMultiple(
    { collection: "accounts", maxPageSize: 3 },
    res.oDataNextLink,
  );
  assert.deepEqual(
    next.value.map((r) => r.name),
    [names[3], names[2], names[1]],
  );
});

await step("retrieveAll follows next links", async () => {
  const res = await api.retrieveAll({
    collection: "accounts",
    select: ["name"],
    filter: `startswith(name,'Client ${tag} page')`,
    orderBy: ["name"],
    maxPageSize: 2,
  });
  assert.deepEqual(
    res.value.map((r) => r.name),
    [...names].sort(),
  );
});

await step("count", async () => {
  const n = await api.count({ collection: "accounts", filter: `startswith(name,'Client ${tag} page')` });
  assert.equal(n, 7);
  const all = await api.count({ collection: "accounts" });
  assert.ok(Number(all) >= 10, `count of all accounts: ${all}`);
});

await step("create a contact with a lookup bind", async () => {
  contactId = await api.create({
    collection: "contacts",
    data: {
      firstname: "Client",
      lastname: `Test${tag}`,
      "parentcustomerid_account@odata.bind": `/accounts(${accountId})`,
    },
  });
  const rec = await api.retrieve({
    collection: "contacts",
    key: contactId,
    select: ["fullname", "_parentcustomerid_value"],
    includeAnnotations: "*",
  });
  assert.equal(rec.fullname, `Client Test${tag}`);
  assert.equal(rec._parentcustomerid_value, accountId);
  assert.equal(rec["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account");
  assert.equal(rec["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"], `Client ${tag} main`);
});

await step("retrieve with expand", async () => {
  const rec = await api.retrieve({
    collection: "accounts",
    key: accountId,
    select: ["name"],
    expand: [{ property: "contact_customer_accounts", select: ["fullname"] }],
  });
  assert.equal(rec.contact_customer_accounts.length, 1);
  assert.equal(rec.contact_customer_accounts[0].fullname, `Client Test${tag}`);
});

await step("associate and disassociate", async () => {
  const other = await api.create({ collection: "contacts", data: { lastname: `Assoc${tag}` } });
  await api.associate({
    collection: "accounts",
    primaryKey: accountId,
    relationshipName: "contact_customer_accounts",
    relatedCollection: "contacts",
    relatedKey: other,
  });
  let rec = await api.retrieve({ collection: "contacts", key: other, select: ["_parentcustomerid_value"] });
  assert.equal(rec._parentcustomerid_value, accountId);
  await api.disassociate({
    collection: "accounts",
    primaryKey: accountId,
    relationshipName: "contact_customer_accounts",
    relatedKey: other,
  });
  rec = await api.retrieve({ collection: "contacts", key: other, select: ["_parentcustomerid_value"] });
  assert.equal(rec._parentcustomerid_value, null);
  await api.associateSingleValued({
    collection: "accounts",
    primaryKey: accountId,
    navigationProperty: "primarycontactid",
    relatedCollection: "contacts",
    relatedKey: other,
  });
  rec = await api.retrieve({ collection: "accounts", key: accountId, select: ["_primarycontactid_value"] });
  assert.equal(rec._primarycontactid_value, other);
});

await step("batch with a change set and a content-id reference", async () => {
  api.startBatch();
  api.create({ collection: "contacts", data: { firstname: "Batch", lastname: `Client${tag}` }, contentId: "1" });
  api.create({
    collection: "accounts",
    data: { name: `Client ${tag} batch`, "primarycontactid@odata.bind": "$1" },
  });
  api.retrieveMultiple({
    collection: "accounts",
    select: ["name"],
    filter: `name eq 'Client ${tag} main'`,
  });
  const responses = await api.executeBatch();
  assert.equal(responses.length, 3, JSON.stringify(responses));
  const [contact, account, list] = responses;
  assert.ok(isGuid(contact), `contact id: ${JSON.stringify(contact)}`);
  assert.ok(isGuid(account), `account id: ${JSON.stringify(account)}`);
  assert.equal(list.value.length, 1);
  const rec = await api.retrieve({ collection: "accounts", key: account, select: ["_primarycontactid_value"] });
  assert.equal(rec._primarycontactid_value, contact);
});

await step("failed batch change set rolls back", async () => {
  api.startBatch();
  api.create({ collection: "accounts", data: { name: `Client ${tag} rollback` } });
  api.create({ collection: "accounts", data: { name: "bad", nosuchattribute: 1 } });
  // The library returns Error objects for failed parts (or throws when the
  // whole batch fails).
  let failed = false;
  try {
    const responses = await api.executeBatch();
    failed = responses.some((r) => r instanceof Error && r.status === 400);
  } catch (e) {
    failed = true;
  }
  assert.ok(failed, "the batch reports the failure");
  const n = await api.count({ collection: "accounts", filter: `name eq 'Client ${tag} rollback'` });
  assert.equal(n, 0, "the first create was rolled back");
});

await step("entity metadata", async () => {
  const def = await api.retrieveEntity({ key: "LogicalName='account'", select: ["LogicalName", "EntitySetName", "PrimaryIdAttribute"] });
  assert.equal(def.LogicalName, "account");
  assert.equal(def.EntitySetName, "accounts");
  assert.equal(def.PrimaryIdAttribute, "accountid");
  const attrs = await api.retrieveAttributes({ entityKey: "LogicalName='account'", select: ["LogicalName"] });
  assert.ok(attrs.value.some((a) => a.LogicalName === "revenue"));
  const csdl = await api.retrieveCsdlMetadata();
  assert.ok(String(csdl).includes('EntityType Name="account"'));
});

await step("WhoAmI", async () => {
  const who = await api.callFunction("WhoAmI");
  assert.ok(isGuid(who.UserId), JSON.stringify(who));
  assert.ok(isGuid(who.BusinessUnitId));
  assert.ok(isGuid(who.OrganizationId));
});

await step("errors surface with status and message", async () => {
  let err;
  try {
    await api.retrieve({ collection: "accounts", key: randomUUID(), select: ["name"] });
  } catch (e) {
    err = e;
  }
  assert.ok(err, "retrieving a missing record fails");
  assert.equal(err.status, 404);
  assert.ok(err.message && err.message.length > 0);
});

// Security: sharing, role privileges and team membership through the
// client's action and function calls, as a Dataverse integration makes them.
let colleagueId;
let roleId;
let teamId;

await step("create a colleague, a role and a team", async () => {
  colleagueId = await api.create({
    collection: "systemusers",
    data: { firstname: "Client", lastname: `Colleague ${tag}`, internalemailaddress: `colleague-${tag}@relata.test` },
  });
  assert.ok(isGuid(colleagueId));
  const who = await api.callFunction("WhoAmI");
  roleId = await api.create({
    collection: "roles",
    data: { name: `Client role ${tag}`, "businessunitid@odata.bind": `businessunits(${who.BusinessUnitId})` },
  });
  teamId = await api.create({ collection: "teams", data: { name: `Client team ${tag}` } });
  assert.ok(isGuid(roleId) && isGuid(teamId));
});

await step("AddPrivilegesRole and RetrieveRolePrivilegesRole", async () => {
  await api.callAction({
    collection: "roles",
    key: roleId,
    actionName: "Microsoft.Dynamics.CRM.AddPrivilegesRole",
    action: {
      Privileges: [
        { PrivilegeName: "prvReadAccount", Depth: "Local" },
        { PrivilegeName: "prvReadContact", Depth: "Basic" },
      ],
    },
  });
  const r = await api.callFunction({ name: "RetrieveRolePrivilegesRole", parameters: { RoleId: roleId } });
  const byName = Object.fromEntries(r.RolePrivileges.map((p) => [p.PrivilegeName, p.Depth]));
  assert.deepEqual(byName, { prvReadAccount: "Local", prvReadContact: "Basic" });
  assert.ok(r.RolePrivileges.every((p) => isGuid(p.PrivilegeId) && isGuid(p.BusinessUnitId)));
});

await step("give the role to the colleague; RetrieveUserPrivileges", async () => {
  await api.associate({
    collection: "systemusers",
    primaryKey: colleagueId,
    relationshipName: "systemuserroles_association",
    relatedCollection: "roles",
    relatedKey: roleId,
  });
  const r = await api.callFunction({
    collection: "systemusers",
    key: colleagueId,
    name: "Microsoft.Dynamics.CRM.RetrieveUserPrivileges",
  });
  const read = r.RolePrivileges.find((p) => p.PrivilegeName === "prvReadAccount");
  assert.equal(read && read.Depth, "Local");
});

await step("AddMembersTeam", async () => {
  await api.callAction({
    collection: "teams",
    key: teamId,
    actionName: "Microsoft.Dynamics.CRM.AddMembersTeam",
    action: { Members: [{ "@odata.type": "Microsoft.Dynamics.CRM.systemuser", systemuserid: colleagueId }] },
  });
  const members = await api.retrieveMultiple({
    collection: "teams",
    select: ["name"],
    filter: `teamid eq ${teamId}`,
    expand: [{ property: "teammembership_association", select: ["systemuserid"] }],
  });
  assert.ok(members.value[0].teammembership_association.some((u) => u.systemuserid === colleagueId));
});

await step("GrantAccess, RetrieveSharedPrincipalsAndAccess, RetrievePrincipalAccess, RevokeAccess", async () => {
  const target = { "@odata.type": "Microsoft.Dynamics.CRM.account", accountid: accountId };
  await api.callAction({
    actionName: "GrantAccess",
    action: {
      Target: target,
      PrincipalAccess: {
        Principal: { "@odata.type": "Microsoft.Dynamics.CRM.systemuser", systemuserid: colleagueId },
        AccessMask: "ReadAccess, WriteAccess",
      },
    },
  });
  const shared = await api.callFunction({
    name: "RetrieveSharedPrincipalsAndAccess",
    parameters: { Target: { "@odata.id": `accounts(${accountId})` } },
  });
  const mine = shared.PrincipalAccesses.find((p) => p.Principal.ownerid === colleagueId);
  assert.equal(mine && mine.AccessMask, "ReadAccess, WriteAccess");
  const access = await api.callFunction({
    collection: "systemusers",
    key: colleagueId,
    name: "Microsoft.Dynamics.CRM.RetrievePrincipalAccess",
    parameters: { Target: { "@odata.id": `accounts(${accountId})` } },
  });
  // The share carries Write, but the colleague's role grants no prvWriteAccount:
  // a share never gives more than the principal's privileges allow.
  assert.equal(access.AccessRights, "ReadAccess");
  await api.callAction({
    actionName: "RevokeAccess",
    action: { Target: target, Revokee: { "@odata.type": "Microsoft.Dynamics.CRM.systemuser", systemuserid: colleagueId } },
  });
  const after = await api.callFunction({
    name: "RetrieveSharedPrincipalsAndAccess",
    parameters: { Target: { "@odata.id": `accounts(${accountId})` } },
  });
  assert.ok(!after.PrincipalAccesses.some((p) => p.Principal.ownerid === colleagueId));
});

await step("the audit log records the share", async () => {
  const r = await api.retrieveMultiple({
    collection: "audits",
    select: ["action", "objecttypecode"],
    filter: `_objectid_value eq ${accountId} and action eq 14`,
  });
  assert.ok(r.value.length >= 1, JSON.stringify(r));
  assert.equal(r.value[0].objecttypecode, "account");
});

// Sales: qualify a lead, price an opportunity from a price list, close it,
// and take the quote → order → invoice chain through the client's actions.
let leadId;
let opportunityId;
let quoteId;
let orderId;
let invoiceId;

await step("QualifyLead (bound action) creates account, contact and opportunity", async () => {
  leadId = await api.create({
    collection: "leads",
    data: { subject: `Client lead ${tag}`, firstname: "Lena", lastname: `Lead ${tag}`, companyname: `Client Co ${tag}` },
  });
  const r = await api.callAction({
    collection: "leads",
    key: leadId,
    actionName: "Microsoft.Dynamics.CRM.QualifyLead",
    action: { CreateAccount: true, CreateContact: true, CreateOpportunity: true, Status: 3 },
  });
  const types = r.value.map((x) => x["@odata.type"]).sort();
  assert.deepEqual(types, ["#Microsoft.Dynamics.CRM.account", "#Microsoft.Dynamics.CRM.contact", "#Microsoft.Dynamics.CRM.opportunity"]);
  opportunityId = r.value.find((x) => x.opportunityid).opportunityid;
  const lead = await api.retrieve({ collection: "leads", key: leadId, select: ["statecode", "statuscode"] });
  assert.equal(lead.statecode, 1);
  assert.equal(lead.statuscode, 3);
});

await step("price an opportunity from a price list", async () => {
  const org = await api.retrieveMultiple({ collection: "organizations", select: ["_basecurrencyid_value"] });
  const currency = org.value[0]._basecurrencyid_value;
  const group = await api.create({ collection: "uomschedules", data: { name: `Units ${tag}`, baseuomname: "pcs" } });
  const units = await api.retrieveMultiple({ collection: "uoms", select: ["uomid"], filter: `_uomscheduleid_value eq ${group}` });
  const unit = units.value[0].uomid;
  const product = await api.create({
    collection: "products",
    data: {
      name: `Widget ${tag}`,
      productnumber: `W-${tag}`,
      "defaultuomscheduleid@odata.bind": `uomschedules(${group})`,
      "defaultuomid@odata.bind": `uoms(${unit})`,
      price: 100,
      quantitydecimal: 2,
    },
  });
  const list = await api.create({
    collection: "pricelevels",
    data: { name: `List ${tag}`, "transactioncurrencyid@odata.bind": `transactioncurrencies(${currency})` },
  });
  await api.create({
    collection: "productpricelevels",
    data: {
      "pricelevelid@odata.bind": `pricelevels(${list})`,
      "productid@odata.bind": `products(${product})`,
      "uomid@odata.bind": `uoms(${unit})`,
      pricingmethodcode: 2,
      percentage: 90,
    },
  });
  await api.update({ collection: "opportunities", key: opportunityId, data: { "pricelevelid@odata.bind": `pricelevels(${list})`, isrevenuesystemcalculated: true } });
  await api.create({
    collection: "opportunityproducts",
    data: { "opportunityid@odata.bind": `opportunities(${opportunityId})`, "productid@odata.bind": `products(${product})`, quantity: 3, relata_taxrate: 20 },
  });
  const opp = await api.retrieve({ collection: "opportunities", key: opportunityId, select: ["totalamount", "estimatedvalue"] });
  // 3 × (100 × 90%) = 270, plus 20% tax = 324.
  assert.equal(Number(opp.totalamount), 324);
  assert.equal(Number(opp.estimatedvalue), 324);
});

await step("quote, win, order and invoice through unbound actions", async () => {
  const quote = await api.callAction({ actionName: "GenerateQuoteFromOpportunity", action: { OpportunityId: opportunityId, ColumnSet: { AllColumns: true } } });
  quoteId = quote.quoteid;
  assert.equal(Number(quote.totalamount), 324);
  await api.update({ collection: "quotes", key: quoteId, data: { statecode: 1, statuscode: 3 } });
  const order = await api.callAction({ actionName: "ConvertQuoteToSalesOrder", action: { QuoteId: quoteId, ColumnSet: { AllColumns: true } } });
  orderId = order.salesorderid;
  assert.equal(order.ispricelocked, true);
  const invoice = await api.callAction({ actionName: "ConvertSalesOrderToInvoice", action: { SalesOrderId: orderId, ColumnSet: { AllColumns: true } } });
  invoiceId = invoice.invoiceid;
  assert.equal(Number(invoice.totalamount), 324);
  await api.update({ collection: "invoices", key: invoiceId, data: { statecode: 2, statuscode: 100001 } });
  const paid = await api.retrieve({ collection: "invoices", key: invoiceId, select: ["statecode", "relata_amountpaid", "relata_amountdue"] });
  assert.equal(paid.statecode, 2);
  assert.equal(Number(paid.relata_amountpaid), 324);
  assert.equal(Number(paid.relata_amountdue), 0);
});

await step("WinOpportunity closes the opportunity", async () => {
  await api.callAction({
    actionName: "WinOpportunity",
    action: { OpportunityClose: { subject: "Won", "opportunityid@odata.bind": `opportunities(${opportunityId})` }, Status: 3 },
  });
  const opp = await api.retrieve({ collection: "opportunities", key: opportunityId, select: ["statecode", "actualvalue"] });
  assert.equal(opp.statecode, 1);
  assert.equal(Number(opp.actualvalue), 324);
});

await step("ExportPdfDocument prints the invoice", async () => {
  const r = await api.callAction({
    actionName: "ExportPdfDocument",
    action: { EntityTypeCode: 1090, SelectedRecords: JSON.stringify([invoiceId]) },
  });
  const pdf = Buffer.from(r.PdfFile, "base64");
  assert.equal(pdf.subarray(0, 5).toString(), "%PDF-");
});

await step("BulkDelete queues a system job that deletes what the query selects", async () => {
  const prefix = `bulk ${tag} `;
  for (let i = 0; i < 3; i++) {
    await api.create({ collection: "accounts", data: { name: `${prefix}${i}` } });
  }
  const r = await api.callAction({
    actionName: "BulkDelete",
    action: {
      QuerySet: [
        {
          EntityName: "account",
          ColumnSet: { AllColumns: false, Columns: [] },
          Criteria: {
            FilterOperator: "And",
            Conditions: [{ AttributeName: "name", Operator: "BeginsWith", Values: [{ Type: "System.String", Value: prefix }] }],
          },
        },
      ],
      JobName: `bulk ${tag}`,
      SendEmailNotification: false,
      ToRecipients: [],
      CCRecipients: [],
      RecurrencePattern: "",
      StartDateTime: new Date().toISOString(),
    },
  });
  assert.ok(isGuid(r.JobId), `JobId: ${JSON.stringify(r)}`);
  // The server's runner takes the job within a poll interval.
  let job;
  for (let i = 0; i < 300; i++) {
    job = await api.retrieve({ collection: "asyncoperations", key: r.JobId, select: ["statecode", "statuscode", "message"] });
    if (job.statecode === 3) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  assert.equal(job.statuscode, 30, JSON.stringify(job));
  const left = await api.retrieveMultiple({ collection: "accounts", select: ["name"], filter: `startswith(name,'${prefix}')` });
  assert.equal(left.value.length, 0);
  const ops = await api.retrieveMultiple({ collection: "bulkdeleteoperations", select: ["successcount", "failurecount"], filter: `_asyncoperationid_value eq ${r.JobId}` });
  assert.equal(ops.value[0].successcount, 3);
  assert.equal(ops.value[0].failurecount, 0);
});

await step("delete", async () => {
  await api.deleteRecord({ collection: "contacts", key: contactId });
  await api.deleteRecord({ collection: "accounts", key: accountId });
  let status;
  try {
    await api.retrieve({ collection: "accounts", key: accountId, select: ["name"] });
  } catch (e) {
    status = e.status;
  }
  assert.equal(status, 404);
});

console.log(`${passed} passed, 0 failed`);

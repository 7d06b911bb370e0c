//! Business modules: a module that exists only in this test registers
//! pipeline steps, and the server runs them through the Web API without
//! any change to the core. Also: the registered steps are readable as
//! `sdkmessageprocessingsteps`, and `relata module list` prints them.

mod common;

use std::sync::Arc;

use common::{backends, enc, start_with_modules, uid, Srv};
use relata_engine::modules::{self, Message, Module, Registry, Stage, Step, StepContext};
use relata_engine::{EngineError, RecordInput, Result, Session};
use relata_metadata::Value;
use serde_json::json;
use uuid::Uuid;

/// The test's module: rules on accounts, one per message and stage.
struct Probe;

impl Module for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["platform"]
    }

    fn register(&self, r: &mut Registry) {
        r.step(Step::new("gatekeeper", Message::Create, Stage::PreValidation, gatekeeper).entity("account"))
            // Registered before "stamp_first" but ranked after it.
            .step(
                Step::new("stamp_second", Message::Create, Stage::PreOperation, stamp_second)
                    .entity("account")
                    .rank(200),
            )
            .step(Step::new("stamp_first", Message::Create, Stage::PreOperation, stamp_first).entity("account").rank(5))
            .step(
                Step::new("fax_mirror", Message::Update, Stage::PreOperation, fax_mirror)
                    .entity("account")
                    .filtering(&["telephone1"])
                    .describe("Copies the main phone into the fax number"),
            )
            .step(Step::new("welcome_task", Message::Create, Stage::PostOperation, welcome_task).entity("account"))
            .step(Step::new("assigned_note", Message::Assign, Stage::PostOperation, assigned_note).entity("account"))
            .step(Step::new("keep_active", Message::SetState, Stage::PreOperation, keep_active).entity("account"))
            .step(Step::new("link_note", Message::Associate, Stage::PostOperation, link_note).entity("account"))
            .step(Step::new("unlink_guard", Message::Disassociate, Stage::PreOperation, unlink_guard).entity("account"))
            .step(Step::new("protect", Message::Delete, Stage::PreOperation, protect).entity("account"));
    }
}

fn name_of(c: &StepContext<'_>) -> String {
    c.value("name").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn gatekeeper(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if name_of(c).starts_with("refused:") {
        return Err(EngineError::Invalid("the probe module refuses names starting with 'refused:'".into()));
    }
    Ok(())
}

fn append_description(c: &mut StepContext<'_>, mark: &str) {
    let before = c.target.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
    c.target.insert("description".into(), Value::String(format!("{before}{mark}")));
}

fn stamp_first(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    append_description(c, "[first]");
    Ok(())
}

fn stamp_second(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    append_description(c, "[second]");
    Ok(())
}

fn fax_mirror(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let phone = c.target.get("telephone1").cloned().unwrap_or(Value::Null);
    c.target.insert("fax".into(), phone);
    Ok(())
}

/// Writes a note about the record through the session, like any client.
fn note(s: &mut Session<'_, '_, '_>, c: &StepContext<'_>, text: String) -> Result<()> {
    let regarding = Value::Ref(relata_metadata::EntityRef { entity: "account".into(), id: c.id });
    s.create(
        "annotation",
        RecordInput::new(vec![("subject".into(), Value::String(text)), ("objectid".into(), regarding)]),
    )?;
    Ok(())
}

fn welcome_task(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let regarding = Value::Ref(relata_metadata::EntityRef { entity: "account".into(), id: c.id });
    s.create(
        "task",
        RecordInput::new(vec![
            ("subject".into(), Value::String(format!("Welcome {}", name_of(c)))),
            ("regardingobjectid".into(), regarding),
        ]),
    )?;
    Ok(())
}

fn assigned_note(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let owner = c.target.get("ownerid").and_then(Value::as_uuid).map(|u| u.to_string()).unwrap_or_default();
    note(s, c, format!("assigned to {owner}"))
}

fn keep_active(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let deactivating = c.target.get("statecode").and_then(Value::as_i64) == Some(1);
    if deactivating && name_of(c).contains("keep-active") {
        return Err(EngineError::Invalid("the probe module keeps this account active".into()));
    }
    Ok(())
}

fn link_note(s: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let (relationship, other) = c.related.expect("an Associate step is given the related record");
    let text = format!("linked to {} {} through {relationship}", other.entity, other.id);
    note(s, c, text)
}

fn unlink_guard(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if name_of(c).contains("linked-for-good") {
        return Err(EngineError::Invalid("the probe module keeps this account's links".into()));
    }
    Ok(())
}

fn protect(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if name_of(c).contains("protected") {
        return Err(EngineError::Invalid("the probe module protects this account".into()));
    }
    Ok(())
}

fn with_probe() -> Vec<Arc<dyn Module>> {
    let mut list = modules::standard();
    list.push(Arc::new(Probe));
    list
}

fn each_probe_server(body: impl Fn(&Srv)) {
    for backend in backends() {
        let srv = start_with_modules(backend, with_probe());
        body(&srv);
    }
}

fn notes_on(srv: &Srv, account: Uuid) -> Vec<String> {
    let filter = enc(&format!("_objectid_value eq {account}"));
    srv.get(&format!("/annotations?$select=subject&$orderby=createdon asc&$filter={filter}"))
        .expect(200)
        .rows()
        .iter()
        .map(|r| r["subject"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_module_of_the_test_runs_its_steps_through_the_web_api() {
    each_probe_server(|srv| {
        // The registered steps are readable like any table, ours among them.
        let steps = srv
            .get("/sdkmessageprocessingsteps?$select=name,relata_messagename,relata_primaryentity,stage,mode,rank,relata_module,filteringattributes&$filter=relata_module eq 'probe'&$orderby=name")
            .expect(200)
            .rows();
        assert_eq!(steps.len(), 10, "{steps:?}");
        let mirror =
            steps.iter().find(|s| s["name"] == "probe.fax_mirror: Update of account").expect("fax_mirror listed");
        assert_eq!(mirror["relata_messagename"], "Update");
        assert_eq!(mirror["relata_primaryentity"], "account");
        assert_eq!(mirror["stage"], 20);
        assert_eq!(mirror["mode"], 0);
        assert_eq!(mirror["rank"], 100);
        assert_eq!(mirror["filteringattributes"], "telephone1");
        let sales =
            srv.get("/sdkmessageprocessingsteps?$select=name&$filter=relata_module eq 'sales'").expect(200).rows();
        assert!(!sales.is_empty(), "the sales module's steps are listed too");
        // Read-only: steps are registered by code.
        srv.post("/sdkmessageprocessingsteps", &json!({ "name": "x" })).expect_error(400);

        // PreValidation refuses; nothing is written.
        let refused = format!("refused: {}", uid());
        let msg = srv.post("/accounts", &json!({ "name": refused })).expect_error(400);
        assert!(msg.contains("refuses names starting with 'refused:'"), "{msg}");
        let filter = enc(&format!("name eq '{refused}'"));
        assert!(srv.get(&format!("/accounts?$select=name&$filter={filter}")).expect(200).rows().is_empty());

        // PreOperation steps run by rank, not registration order; the
        // PostOperation step's task is written in the same transaction.
        let name = format!("Probe {}", uid());
        let account = srv.create("accounts", &json!({ "name": name }));
        let got = srv.retrieve("accounts", account, "$select=description,fax");
        assert_eq!(got["description"], "[first][second]");
        let filter = enc(&format!("_regardingobjectid_value eq {account}"));
        let tasks = srv.get(&format!("/tasks?$select=subject&$filter={filter}")).expect(200).rows();
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        assert_eq!(tasks[0]["subject"], format!("Welcome {name}"));

        // Filtering attributes: the step runs only when the phone changes.
        srv.patch(&format!("/accounts({account})"), &json!({ "telephone1": "555-0199" })).expect(204);
        assert_eq!(srv.retrieve("accounts", account, "$select=fax")["fax"], "555-0199");
        srv.patch(&format!("/accounts({account})"), &json!({ "fax": "555-0000" })).expect(204);
        srv.patch(&format!("/accounts({account})"), &json!({ "name": format!("{name} renamed") })).expect(204);
        assert_eq!(srv.retrieve("accounts", account, "$select=fax")["fax"], "555-0000");

        // Assign raises its own message besides Update.
        let me = srv.admin_id();
        let seller = srv.new_user(&["Salesperson"]).id;
        srv.patch(
            &format!("/accounts({account})"),
            &json!({ "ownerid@odata.bind": format!("/systemusers({seller})") }),
        )
        .expect(204);
        assert_eq!(notes_on(srv, account), vec![format!("assigned to {seller}")]);
        srv.patch(&format!("/accounts({account})"), &json!({ "telephone2": "1" })).expect(204);
        assert_eq!(notes_on(srv, account).len(), 1, "an update that keeps the owner is no Assign");
        srv.patch(&format!("/accounts({account})"), &json!({ "ownerid@odata.bind": format!("/systemusers({me})") }))
            .expect(204);
        assert_eq!(notes_on(srv, account).len(), 2);

        // Associate (many-to-many) gives the step the relationship and the other record.
        let lead = srv.create("leads", &json!({ "lastname": format!("Probe {}", uid()) }));
        let link = json!({ "@odata.id": format!("{}/leads({lead})", srv.api) });
        srv.post(&format!("/accounts({account})/accountleads_association/$ref"), &link).expect(204);
        let notes = notes_on(srv, account);
        assert_eq!(notes.last().unwrap(), &format!("linked to lead {lead} through accountleads_association"));

        // SetState: refused for a marked account; its state is unchanged.
        let keep = srv.create("accounts", &json!({ "name": format!("keep-active {}", uid()) }));
        let msg =
            srv.patch(&format!("/accounts({keep})"), &json!({ "statecode": 1, "statuscode": 2 })).expect_error(400);
        assert!(msg.contains("keeps this account active"), "{msg}");
        assert_eq!(srv.retrieve("accounts", keep, "$select=statecode")["statecode"], 0);
        srv.patch(&format!("/accounts({account})"), &json!({ "statecode": 1, "statuscode": 2 })).expect(204);

        // Disassociate: refused, and the link stays.
        let glued = srv.create("accounts", &json!({ "name": format!("linked-for-good {}", uid()) }));
        srv.post(&format!("/accounts({glued})/accountleads_association/$ref"), &link).expect(204);
        let msg = srv.delete(&format!("/accounts({glued})/accountleads_association({lead})/$ref")).expect_error(400);
        assert!(msg.contains("keeps this account's links"), "{msg}");
        let linked = srv.get(&format!("/accounts({glued})/accountleads_association?$select=leadid")).expect(200).rows();
        assert_eq!(linked.len(), 1);
        srv.delete(&format!("/accounts({account})/accountleads_association({lead})/$ref")).expect(204);

        // Delete: refused, and the record stays.
        let kept = srv.create("accounts", &json!({ "name": format!("protected {}", uid()) }));
        let msg = srv.delete(&format!("/accounts({kept})")).expect_error(400);
        assert!(msg.contains("protects this account"), "{msg}");
        srv.retrieve("accounts", kept, "$select=name");
        srv.delete(&format!("/accounts({account})")).expect(204);

        // PreValidation runs before the privilege checks: a user who may
        // not create accounts hears the module's refusal, not a 403.
        let reader = srv.new_user(&[]);
        let r = srv.send(
            srv.req_as(&reader.token, reqwest::Method::POST, "/accounts")
                .json(&json!({ "name": "refused: by rights?" })),
        );
        assert_eq!(r.status, 400, "{}", r.text());
        let r = srv.send(srv.req_as(&reader.token, reqwest::Method::POST, "/accounts").json(&json!({ "name": uid() })));
        assert_eq!(r.status, 403, "{}", r.text());
    });
}

#[test]
fn a_module_that_breaks_the_rules_is_refused_when_the_organization_opens() {
    struct Orphan;
    impl Module for Orphan {
        fn name(&self) -> &'static str {
            "orphan"
        }
        fn depends_on(&self) -> &'static [&'static str] {
            &["marketing"]
        }
        fn register(&self, _: &mut Registry) {}
    }
    let err = modules::Modules::build(&[Arc::new(Orphan)]).unwrap_err().to_string();
    assert!(err.contains("depends on 'marketing'"), "{err}");

    let err = modules::Modules::build(&[Arc::new(Probe), Arc::new(Probe)]).unwrap_err().to_string();
    assert!(err.contains("depends on 'platform'"), "{err}");
    let mut twice = modules::standard();
    twice.push(twice[0].clone());
    let err = modules::Modules::build(&twice).unwrap_err().to_string();
    assert!(err.contains("'platform' is registered twice"), "{err}");

    struct Sloppy;
    impl Module for Sloppy {
        fn name(&self) -> &'static str {
            "sloppy"
        }
        fn register(&self, r: &mut Registry) {
            r.step(Step::new("s", Message::Create, Stage::PreOperation, gatekeeper).filtering(&["name"]));
            // Its texts must be keyed by its name, so modules' keys never meet.
            r.messages("ru", &[("closed", "Закрыто.")]);
        }
    }
    let err = modules::Modules::build(&[Arc::new(Sloppy)]).unwrap_err().to_string();
    assert!(err.contains("filtering attributes apply to Update only"), "{err}");
    assert!(err.contains("message key 'closed' does not start with 'sloppy.'"), "{err}");
}

#[test]
fn module_list_prints_the_modules_and_their_steps_in_running_order() {
    let out = common::run_cli(&["module".to_string(), "list".to_string()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("modules: platform, sales, exchange1c, email, processes\n"), "{text}");
    assert!(text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["/1c_exchange", "exchange1c"]), "{text}");
    let header = text.lines().find(|l| l.starts_with("MESSAGE")).expect("a table header");
    for column in ["ENTITY", "STAGE", "RANK", "MODE", "MODULE", "STEP", "FILTERING"] {
        assert!(header.contains(column), "{header}");
    }
    let priced = text
        .lines()
        .find(|l| l.split_whitespace().nth(6) == Some("price_line") && l.contains(" quotedetail "))
        .expect("the sales module prices quote lines");
    assert_eq!(
        priced.split_whitespace().take(6).collect::<Vec<_>>(),
        ["Create", "quotedetail", "PreOperation", "100", "Synchronous", "sales"]
    );

    let out = common::run_cli(&["module".to_string(), "list".to_string(), "--json".to_string()]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["modules"], json!(["platform", "sales", "exchange1c", "email", "processes"]));
    let steps = doc["steps"].as_array().unwrap();
    let count = text.lines().find_map(|l| l.strip_suffix(" steps")).unwrap().parse::<usize>().unwrap();
    assert_eq!(steps.len(), count);
    // Then the catalog: BulkDelete is the platform's, and needs its privilege.
    let bulk = text.lines().find(|l| l.starts_with("BulkDelete ")).expect("the catalog lists BulkDelete");
    assert_eq!(
        bulk.split_whitespace().take(5).collect::<Vec<_>>(),
        ["BulkDelete", "action", "(unbound)", "prvBulkDelete", "platform"]
    );
    assert!(
        bulk.contains("QuerySet: Collection(mscrm.QueryExpression)") && bulk.contains("RecurrencePattern?: Edm.String"),
        "{bulk}"
    );
    let actions = doc["actions"].as_array().unwrap();
    let bulk = actions.iter().find(|a| a["name"] == "BulkDelete").expect("BulkDelete in the JSON");
    assert_eq!(bulk["bindingtype"], 0);
    assert_eq!(bulk["response"], json!([{"name": "JobId", "type": "Edm.Guid", "optional": false}]));
    assert!(steps.iter().all(|s| s["mode"] == "Synchronous"));
    // The JSON lists the steps in the order the pipeline runs them.
    let stage = |s: &serde_json::Value| {
        ["PreValidation", "PreOperation", "PostOperation"].iter().position(|n| s["stage"] == *n)
    };
    let order: Vec<_> = steps.iter().map(|s| (stage(s), s["rank"].as_i64())).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    let bases = steps.iter().position(|s| s["name"] == "money_bases" && s["message"] == "Create").unwrap();
    let full_name = steps.iter().position(|s| s["name"] == "full_name" && s["message"] == "Create").unwrap();
    assert!(full_name < bases, "full names (rank 10) run before money base amounts (rank 900)");
    // The modules' own endpoints are listed with their module.
    let endpoints = doc["endpoints"].as_array().expect("endpoints");
    assert!(endpoints.iter().any(|e| e["path"] == "/1c_exchange" && e["module"] == "exchange1c"), "{endpoints:?}");
}

/// Without the sales module there are no sales entities: not in the Web
/// API, not in `$metadata`, not as columns sales adds to accounts; the
/// platform and its pages work without them.
#[test]
fn the_platform_runs_without_the_sales_module() {
    for backend in backends() {
        let srv = start_with_modules(backend, vec![Arc::new(relata_engine::Platform)]);
        assert_eq!(srv.get("/leads").status, 404, "{backend}");
        assert_eq!(srv.get("/opportunities").status, 404, "{backend}");
        let csdl = srv.get("/$metadata").expect(200).text();
        assert!(!csdl.contains("<EntityType Name=\"lead\""), "{backend}: no lead type");
        assert!(!csdl.contains("Name=\"originatingleadid\""), "{backend}: the column sales adds is gone");
        assert!(csdl.contains("<EntityType Name=\"account\""), "{backend}");
        assert_eq!(srv.get("/accounts?$select=originatingleadid").status, 400, "{backend}");
        let account = srv.create("accounts", &serde_json::json!({ "name": format!("Plain {}", uid()) }));
        assert_eq!(srv.get(&format!("/accounts({account})?$select=name")).status, 200);
        // The pages: home, the record, the search — nothing of sales.
        let home = srv.page_as(&srv.token, "/").expect(200).text();
        assert!(!home.contains("/ui/board/") && !home.contains("/ui/leads"), "{backend}: {home}");
        let page = srv.page_as(&srv.token, &format!("/ui/accounts/{account}")).expect(200).text();
        assert!(!page.contains("data-action=\"print\""), "{backend}");
        let found = srv.page_as(&srv.token, "/ui/search?q=Plain").expect(200).text();
        assert!(found.contains(&format!("/ui/accounts/{account}")), "{backend}: {found}");
        // The platform's own actions are there; the sales ones are not.
        let who: serde_json::Value = srv.get("/WhoAmI").expect(200).json();
        assert!(who["UserId"].is_string(), "{backend}");
        assert_eq!(srv.post("/WinOpportunity", &serde_json::json!({})).status, 404, "{backend}: no sales action");
    }
}

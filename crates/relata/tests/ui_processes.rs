//! The processes designer and what processes add to record pages, at the
//! HTTP level on a real server (both databases): a workflow built by
//! posting the designer's forms — "when an opportunity's sales stage
//! changes to Propose, create a task for its owner" — activated, then run
//! by a change through the Web API, its log on the system job's page; a
//! designer mistake shown with the engine's message at its step; a
//! business rule built in the designer that the Web API obeys and the
//! form carries; the stage bar moving an opportunity and refusing with
//! the required columns' message; an on-demand workflow run from the
//! record. Then the designer, the rule as the user types and the stage
//! bar in Chromium.

mod common;

use std::sync::Arc;

use common::{backends, start_org, uid, Srv};
use relata_engine::jobs::{Runner, RunnerConfig};
use relata_engine::{ManualClock, OrgConfig};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

struct Env {
    srv: Srv,
    clock: Arc<ManualClock>,
    runner: Runner,
    csrf: String,
}

fn env(backend: &'static str) -> Env {
    let clock = ManualClock::new();
    let config = OrgConfig { clock: clock.clone(), ..OrgConfig::default() };
    let (srv, org) = start_org(backend, config);
    let runner = Runner::new(org, RunnerConfig { host: "ui-processes".into(), ..RunnerConfig::default() });
    runner.run_due(20).unwrap();
    let csrf = srv.csrf_of(&srv.token);
    Env { srv, clock, runner, csrf }
}

type Form = Vec<(&'static str, String)>;

impl Env {
    fn run_jobs(&self) {
        self.runner.run_due(100).unwrap();
    }

    /// Posts the designer's form (with the CSRF value) as the admin.
    fn post(&self, path: &str, form: &[(&str, String)]) -> common::Resp {
        let mut all: Vec<(&str, String)> = vec![("csrf", self.csrf.clone())];
        all.extend(form.iter().cloned());
        self.srv.form_as(&self.srv.token, path, &all)
    }

    /// A button of the editor that shows it again: the page.
    fn press(&self, path: &str, form: &Form, op: &str) -> String {
        let mut f = form.clone();
        f.push(("op", op.to_string()));
        let r = self.post(path, &f);
        assert_eq!(r.status, 200, "[{}] {op}: {}", self.srv.backend, r.text());
        r.text()
    }

    /// Save or Activate: the process's id, from where it leads.
    fn save(&self, path: &str, form: &Form, op: &str) -> Uuid {
        let mut f = form.clone();
        f.push(("op", op.to_string()));
        let r = self.post(path, &f);
        assert_eq!(r.status, 303, "[{}] {op}: {}", self.srv.backend, problem(&r.text()));
        let to = r.header("location").unwrap();
        let id = to.trim_start_matches("/ui/processes/").split('?').next().unwrap();
        id.parse().unwrap_or_else(|_| panic!("{to}"))
    }

    fn page(&self, path: &str) -> String {
        let r = self.srv.page_as(&self.srv.token, path);
        assert_eq!(r.status, 200, "[{}] {path}: {}", self.srv.backend, r.text());
        r.text()
    }
}

/// The page's alert, for a failure's message.
fn problem(html: &str) -> String {
    html.split("data-testid=\"problem\">").nth(1).and_then(|r| r.split('<').next()).unwrap_or(html).to_string()
}

fn decode(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Does a select named `name` offer (and select) `value`?
fn offers(html: &str, name: &str, value: &str) -> bool {
    let Some(at) = html.find(&format!("name=\"{name}\"")) else { return false };
    let select = &html[at..html[at..].find("</select>").map(|e| at + e).unwrap_or(html.len())];
    select.contains(&format!("<option value=\"{value}\""))
}

fn selected(html: &str, name: &str, value: &str) -> bool {
    let Some(at) = html.find(&format!("name=\"{name}\"")) else { return false };
    let select = &html[at..html[at..].find("</select>").map(|e| at + e).unwrap_or(html.len())];
    select.contains(&format!("<option value=\"{value}\" selected>"))
}

/// "When an opportunity's sales stage changes to Propose, create a task
/// for its owner", as an administrator builds it: each step of the way a
/// button of the designer, the page showing the choices it needs next.
fn build_propose_workflow(e: &Env, name: &str) -> Uuid {
    let path = "/ui/processes/new";
    let page = e.page("/ui/processes/new?category=0");
    assert!(offers(&page, "entity", "opportunity"), "the tables to choose from");
    let mut form: Form = vec![
        ("category", "0".into()),
        ("name", name.into()),
        ("entity", "opportunity".into()),
        ("mode", "0".into()),
        ("scope", "4".into()),
        ("runas", "1".into()),
        ("schedule", "none".into()),
    ];
    // The table chosen: its columns are offered for "fields change".
    let page = e.press(path, &form, "refresh");
    assert!(offers(&page, "on_update", "salesstage"), "{page}");
    form.push(("on_update", "salesstage".into()));
    // A condition row: the column, then the operator and a value that
    // fits the column (the sales stage's choices).
    let page = e.press(path, &form, "addc:c");
    assert!(offers(&page, "c.0.field", "salesstage"));
    form.extend([("c.0.field", "salesstage".into()), ("c.0.op", "eq".into())]);
    let page = e.press(path, &form, "refresh");
    assert!(offers(&page, "c.0.val", "2"), "the sales stage's choices: {page}");
    form.push(("c.0.val", "2".into()));
    // A step: create a task.
    form.push(("s.new", "create".into()));
    let page = e.press(path, &form, "add:s");
    assert!(selected(&page, "s.0.type", "create"), "{page}");
    form.retain(|(k, _)| *k != "s.new");
    form.extend([
        ("s.0.type", "create".into()),
        ("s.0.name", "Task for the owner".into()),
        ("s.0.entity", "task".into()),
        ("s.0.v.0.col", String::new()),
        ("s.0.v.0.kind", "text".into()),
    ]);
    let page = e.press(path, &form, "refresh");
    assert!(offers(&page, "s.0.v.0.col", "subject"), "a task's columns once the table is chosen");
    assert!(offers(&page, "s.0.v.0.col", "scheduledend"));
    // Four values: typed text with a placeholder, the record itself, a
    // column of the record, now plus two days.
    let page = e.press(path, &form, "addv:s.0");
    assert!(page.contains("name=\"s.0.v.1.col\""), "a second value row");
    form.retain(|(k, _)| !k.starts_with("s.0.v."));
    form.extend([
        ("s.0.v.0.col", "subject".into()),
        ("s.0.v.0.kind", "text".into()),
        ("s.0.v.0.val", "Send the proposal for {{ record.name }}".into()),
        ("s.0.v.1.col", "regardingobjectid".into()),
        ("s.0.v.1.kind", "record".into()),
        ("s.0.v.2.col", "ownerid".into()),
        ("s.0.v.2.kind", "field".into()),
        ("s.0.v.2.val", "ownerid".into()),
        ("s.0.v.3.col", "scheduledend".into()),
        ("s.0.v.3.kind", "now".into()),
        ("s.0.v.3.val", "2".into()),
    ]);
    let page = e.press(path, &form, "refresh");
    assert!(selected(&page, "s.0.v.2.val", "ownerid"), "a column of the opportunity to copy from");
    let id = e.save(path, &form, "save");
    // Saved as a draft; activated from its own page.
    let edit = format!("/ui/processes/{id}");
    let page = e.page(&format!("{edit}?done=saved"));
    assert!(page.contains("data-testid=\"done\""), "{page}");
    assert!(selected(&page, "s.0.v.1.kind", "record"), "the editor reads the definition back");
    let json = decode(&page);
    assert!(json.contains("\"template\": \"Send the proposal for {{ record.name }}\""), "the JSON block: {json}");
    let activated = e.save(&edit, &form, "activate");
    assert_eq!(activated, id);
    id
}

#[test]
fn a_workflow_built_in_the_designer_makes_a_task_when_an_opportunity_reaches_propose() {
    for backend in backends() {
        let e = env(backend);
        let srv = &e.srv;
        // Settings lead there; a salesperson neither sees nor opens it.
        assert!(decode(&e.page("/ui/settings")).contains("href=\"/ui/processes\""), "[{backend}]");
        let rep = srv.new_user(&["Salesperson"]);
        assert!(
            !decode(&srv.page_as(&rep.token, "/ui/settings").text()).contains("href=\"/ui/processes\""),
            "[{backend}]"
        );
        assert_eq!(srv.page_as(&rep.token, "/ui/processes").status, 403, "[{backend}]");

        let name = format!("Propose task {}", uid());
        let wf = build_propose_workflow(&e, &name);
        let stored = srv.retrieve("workflows", wf, "");
        assert_eq!(stored["statecode"], 1, "[{backend}] activated");
        assert_eq!(stored["triggeronupdateattributelist"], "salesstage", "[{backend}]");
        assert_eq!(stored["scope"], 4, "[{backend}]");
        let def: Value = serde_json::from_str(stored["clientdata"].as_str().unwrap()).unwrap();
        assert_eq!(
            def,
            json!({
                "condition": { "all": [ { "field": "salesstage", "op": "eq", "value": 2 } ] },
                "steps": [ { "type": "create", "name": "Task for the owner", "entity": "task", "values": {
                    "subject": { "template": "Send the proposal for {{ record.name }}" },
                    "regardingobjectid": { "record": true },
                    "ownerid": { "field": "ownerid" },
                    "scheduledend": { "now": { "days": 2 } } } } ],
            }),
            "[{backend}]"
        );
        // Activated: shown, not edited, until deactivated.
        let page = e.page(&format!("/ui/processes/{wf}"));
        assert!(page.contains("data-testid=\"locked\""), "[{backend}]");
        assert!(page.contains("<fieldset class=\"pbody\" disabled>"), "[{backend}]");
        let list = e.page("/ui/processes");
        assert!(list.contains(&name) && list.contains("Opportunity Sales Process"), "[{backend}] the list");
        let ru = e.page(&format!("/ui/processes/{wf}?lang=ru"));
        assert!(ru.contains("Создать запись") && ru.contains("Выполнять, только если"), "[{backend}] in Russian");
        assert!(e.page("/ui/processes?lang=ru").contains("Новое бизнес-правило"), "[{backend}]");
        // The process's own record page leads to the designer.
        let page = decode(&e.page(&format!("/ui/workflows/{wf}?lang=en")));
        assert!(page.contains(&format!("href=\"/ui/processes/{wf}\"")), "[{backend}] Open in the designer");

        // The Web API changes the opportunity; the background run makes the task.
        let opp = srv.create("opportunities", &json!({ "name": "Designer deal" }));
        srv.patch(&format!("opportunities({opp})"), &json!({ "salesstage": 1 })).expect(204);
        e.run_jobs();
        let tasks = |id: Uuid| srv.get(&format!("tasks?$filter=_regardingobjectid_value eq {id}")).expect(200).rows();
        assert!(tasks(opp).is_empty(), "[{backend}] Develop does not meet the condition");
        srv.patch(&format!("opportunities({opp})"), &json!({ "salesstage": 2 })).expect(204);
        e.run_jobs();
        let made = tasks(opp);
        assert_eq!(made.len(), 1, "[{backend}] {made:?}");
        assert_eq!(made[0]["subject"], "Send the proposal for Designer deal", "[{backend}]");
        assert_eq!(made[0]["_ownerid_value"], srv.admin_id().to_string(), "[{backend}]");
        let due = chrono::DateTime::parse_from_rfc3339(made[0]["scheduledend"].as_str().unwrap()).unwrap();
        let want = relata_engine::Clock::now(&*e.clock) + chrono::Duration::days(2);
        assert!((due.with_timezone(&chrono::Utc) - want).num_minutes().abs() <= 1, "[{backend}]");

        // The run's system job lists its log, readable.
        let q = format!(
            "asyncoperations?$filter=relata_jobtype eq 'processes.workflow' and name eq '{name}'&$orderby=createdon"
        );
        let runs = srv.get(&q).expect(200).rows();
        let job = runs.last().unwrap()["asyncoperationid"].as_str().unwrap().to_string();
        let page = e.page(&format!("/ui/asyncoperations/{job}"));
        assert!(page.contains("data-testid=\"process-log\""), "[{backend}] {page}");
        assert!(page.contains("data-subgrid=\"workflowlogs\""), "[{backend}] the log's subgrid");
        let log = &page[page.find("data-testid=\"process-log\"").unwrap()..];
        assert!(log.contains("Task for the owner") && log.contains("Succeeded"), "[{backend}] {log}");
        assert!(decode(log).contains("\"created\""), "[{backend}] the step's result");
        let task = made[0]["activityid"].as_str().unwrap();
        assert!(decode(log).contains(&format!("href=\"/ui/tasks/{task}\"")), "[{backend}] the task it made, linked");

        // Deactivated, it can be changed again.
        let r = e.post(&format!("/ui/processes/{wf}"), &[("op", "deactivate".into())]);
        assert_eq!(r.status, 303, "[{backend}]");
        let page = e.page(r.header("location").as_deref().unwrap());
        assert!(!page.contains("data-testid=\"locked\"") && page.contains("data-testid=\"done\""), "[{backend}]");
        assert_eq!(srv.retrieve("workflows", wf, "$select=statecode")["statecode"], 0, "[{backend}]");
    }
}

#[test]
fn a_designer_mistake_shows_the_engines_message_at_its_step() {
    for backend in backends() {
        let e = env(backend);
        let path = "/ui/processes/new";
        let mut form: Form = vec![
            ("category", "0".into()),
            ("name", "Tell the owner".into()),
            ("entity", "account".into()),
            ("on_create", "1".into()),
            ("s.new", "notify".into()),
        ];
        let page = e.press(path, &form, "add:s");
        assert!(offers(&page, "s.0.to", "ownerid"), "[{backend}] users the record names: {page}");
        form.retain(|(k, _)| *k != "s.new");
        form.extend([("s.0.type", "notify".into()), ("s.0.to", "ownerid".into()), ("s.0.title", String::new())]);
        // The title left empty: the engine says where and what.
        let mut f = form.clone();
        f.push(("op", "save".into()));
        let r = e.post(path, &f);
        assert_eq!(r.status, 400, "[{backend}] a page, not an error: {}", r.text());
        let page = decode(&r.text());
        assert!(problem(&page).contains("steps[0]: 'title' is required"), "[{backend}] {}", problem(&page));
        let step = &page[page.find("data-step=\"s.0\"").expect("the step")..];
        assert!(
            step[..step.find("</section>").unwrap()].contains("data-testid=\"step-error\""),
            "[{backend}] at its step"
        );
        assert!(page.contains("value=\"Tell the owner\""), "[{backend}] nothing typed is lost");
        assert!(e.srv.get("workflows?$filter=name eq 'Tell the owner'").expect(200).rows().is_empty(), "[{backend}]");
        // A value that does not fit its column is named by the designer.
        let mut f = form.clone();
        f.retain(|(k, _)| *k != "s.0.title");
        f.extend([
            ("s.0.title", "Look at {{ record.name }}".into()),
            ("c.0.field", "numberofemployees".into()),
            ("c.0.op", "gt".into()),
            ("c.0.val", "many".into()),
            ("op", "save".into()),
        ]);
        let r = e.post(path, &f);
        assert_eq!(r.status, 400, "[{backend}]");
        assert!(
            decode(&problem(&r.text())).contains("condition.all[0]: “many” is not a whole number"),
            "[{backend}] {}",
            problem(&r.text())
        );
        // Fixed, it saves.
        f.retain(|(k, _)| !k.starts_with("c.0.") && *k != "op");
        let id = e.save(path, &f, "save");
        let stored = e.srv.retrieve("workflows", id, "$select=clientdata,triggeroncreate");
        assert_eq!(stored["triggeroncreate"], true, "[{backend}]");
        assert!(stored["clientdata"].as_str().unwrap().contains("Look at {{ record.name }}"), "[{backend}]");
    }
}

/// A business rule for accounts built in the designer: a name with "LLC"
/// makes the INN required and shows the KPP (which only organizations
/// have); otherwise the KPP is hidden.
fn build_rule(e: &Env, name: &str) -> Uuid {
    let path = "/ui/processes/new";
    let mut form: Form = vec![("category", "2".into()), ("name", name.into()), ("entity", "account".into())];
    e.press(path, &form, "addc:c");
    form.extend([("c.0.field", "name".into()), ("c.0.op", "contains".into()), ("c.0.val", "LLC".into())]);
    // Each action: its type chosen, Add pressed, then its column.
    let add = |form: &mut Form, list: &str, kind: &str, at: &str, field: &str| {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let mut f = form.clone();
        f.push((leak(format!("{list}.new")), kind.to_string()));
        let page = e.press(path, &f, &format!("add:{list}"));
        assert!(selected(&page, &format!("{at}.type"), kind), "{page}");
        form.extend([(leak(format!("{at}.type")), kind.to_string()), (leak(format!("{at}.field")), field.to_string())]);
    };
    add(&mut form, "a.t", "required", "a.t.0", "relata_inn");
    add(&mut form, "a.t", "show", "a.t.1", "relata_kpp");
    add(&mut form, "a.e", "hide", "a.e.0", "relata_kpp");
    e.save(path, &form, "activate")
}

#[test]
fn a_business_rule_from_the_designer_binds_the_api_and_rides_on_the_form() {
    for backend in backends() {
        let e = env(backend);
        let srv = &e.srv;
        let rule = build_rule(&e, "Legal entities");
        let stored = srv.retrieve("workflows", rule, "$select=clientdata,statecode,category");
        assert_eq!((stored["statecode"].as_i64(), stored["category"].as_i64()), (Some(1), Some(2)), "[{backend}]");
        let def: Value = serde_json::from_str(stored["clientdata"].as_str().unwrap()).unwrap();
        assert_eq!(
            def,
            json!({ "condition": { "all": [ { "field": "name", "op": "contains", "value": "LLC" } ] },
                    "then": [ { "type": "required", "field": "relata_inn" }, { "type": "show", "field": "relata_kpp" } ],
                    "else": [ { "type": "hide", "field": "relata_kpp" } ] }),
            "[{backend}]"
        );
        let err = srv.post("accounts", &json!({ "name": "Horns LLC" })).expect_error(400);
        assert_eq!(err, "INN is required (business rule 'Legal entities').", "[{backend}]");
        srv.create("accounts", &json!({ "name": "Horns LLC", "relata_inn": "7707083893" }));
        // The form carries the rule for its script; the server still refuses.
        let page = e.page("/ui/accounts/new");
        assert!(page.contains("<script type=\"application/json\" id=\"business-rules\">"), "[{backend}]");
        assert!(
            page.contains("data-field=\"relata_kpp\"") && page.contains("data-field=\"relata_inn\""),
            "[{backend}]"
        );
        let r = e.post("/ui/accounts/new", &[("name", "Hooves LLC".into())]);
        assert_eq!(r.status, 400, "[{backend}]");
        assert!(r.text().contains("INN is required (business rule"), "[{backend}] at the field");
        // An entity without rules has none on its form.
        assert!(!e.page("/ui/contacts/new").contains("id=\"business-rules\""), "[{backend}]");
    }
}

/// The sales process with a required column on its Develop stage, set in
/// the designer; returns the process's id.
fn require_on_develop(e: &Env, column: &str) -> Uuid {
    let process = e.srv.get("workflows?$filter=category eq 4 and primaryentity eq 'opportunity'").expect(200).rows();
    let id: Uuid = process[0]["workflowid"].as_str().unwrap().parse().unwrap();
    let path = format!("/ui/processes/{id}");
    let page = e.page(&path);
    let stages = e
        .srv
        .get(&format!("processstages?$filter=_processid_value eq {id}&$orderby=relata_stageorder"))
        .expect(200)
        .rows();
    let mut form: Form = vec![("category", "4".into()), ("name", "Opportunity Sales Process".into())];
    for (i, st) in stages.iter().enumerate() {
        let k = |s: &str| -> &'static str { Box::leak(format!("st.{i}.{s}").into_boxed_str()) };
        let sid = st["processstageid"].as_str().unwrap();
        assert!(page.contains(&format!("value=\"{sid}\"")), "the stage's row");
        form.extend([
            (k("id"), sid.to_string()),
            (k("name"), st["stagename"].as_str().unwrap().to_string()),
            (k("entity"), "opportunity".into()),
        ]);
        if i == 1 {
            form.push((k("req"), column.to_string()));
        }
    }
    assert_eq!(e.save(&path, &form, "save"), id);
    id
}

#[test]
fn the_stage_bar_moves_an_opportunity_and_names_what_is_missing() {
    for backend in backends() {
        let e = env(backend);
        let srv = &e.srv;
        require_on_develop(&e, "description");
        let stage =
            srv.get("processstages?$filter=stagename eq 'Develop'").expect(200).rows().into_iter().next().unwrap();
        assert_eq!(stage["relata_requiredfields"], "description", "[{backend}] saved by the designer");

        let opp = srv.create("opportunities", &json!({ "name": "Bar deal" }));
        let record = format!("/ui/opportunities/{opp}");
        e.clock.advance(chrono::Duration::days(2));
        let page = e.page(&record);
        assert!(page.contains("data-testid=\"stage-bar\""), "[{backend}] {page}");
        assert!(
            page.contains("<li class=\"stage current\" aria-current=\"step\" data-stage=\"Qualify\">"),
            "[{backend}]"
        );
        assert!(page.contains("In this stage for 2 days"), "[{backend}]");
        assert!(page.contains("data-required=\"Description\""), "[{backend}] the Develop stage's required column");
        let instance = page.split("name=\"instance\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let move_to = |way: &str| {
            e.post(&format!("{record}/stage"), &[("instance", instance.clone()), ("move", way.to_string())])
        };

        // Next: Develop.
        let r = move_to("next");
        assert_eq!(r.status, 303, "[{backend}] {}", r.text());
        let page = e.page(r.header("location").as_deref().unwrap());
        assert!(page.contains("Moved to the stage “Develop”."), "[{backend}]");
        assert!(
            page.contains("<li class=\"stage current\" aria-current=\"step\" data-stage=\"Develop\">"),
            "[{backend}]"
        );
        assert!(page.contains("<li class=\"empty\" data-required=\"Description\">"), "[{backend}] not filled yet");
        assert_eq!(srv.retrieve("opportunities", opp, "$select=salesstage")["salesstage"], 1, "[{backend}]");
        // Next again: Description is empty, the engine refuses, the page says why.
        let r = move_to("next");
        assert_eq!(r.status, 303, "[{backend}]");
        let page = decode(&e.page(r.header("location").as_deref().unwrap()));
        assert!(
            problem(&page).contains("Fill in Description before moving on from the stage 'Develop'"),
            "[{backend}] {}",
            problem(&page)
        );
        assert!(page.contains("data-stage=\"Develop\""), "[{backend}]");
        // Filled, it moves; back is free.
        srv.patch(&format!("opportunities({opp})"), &json!({ "description": "needs CRM" })).expect(204);
        assert!(e.page(&record).contains("<li class=\"filled\" data-required=\"Description\">"), "[{backend}] ticked");
        assert_eq!(move_to("next").status, 303);
        assert!(e.page(&record).contains("aria-current=\"step\" data-stage=\"Propose\""), "[{backend}]");
        assert_eq!(move_to("prev").status, 303);
        assert!(e.page(&record).contains("aria-current=\"step\" data-stage=\"Develop\""), "[{backend}]");
        // At the last stage the flow is finished, and the bar leaves the page.
        for _ in 0..2 {
            assert_eq!(move_to("next").status, 303);
        }
        let page = e.page(&record);
        assert!(page.contains("aria-current=\"step\" data-stage=\"Close\""), "[{backend}]");
        assert!(
            page.contains("data-testid=\"stage-finish\"") && !page.contains("data-testid=\"stage-next\""),
            "[{backend}]"
        );
        let r = move_to("finish");
        assert_eq!(r.status, 303, "[{backend}]");
        let page = e.page(r.header("location").as_deref().unwrap());
        assert!(page.contains("The business process is finished."), "[{backend}] {}", problem(&page));
        assert!(!page.contains("data-testid=\"stage-bar\""), "[{backend}]");
        let done =
            srv.retrieve("businessprocessflowinstances", instance.parse().unwrap(), "$select=statecode,statuscode");
        assert_eq!((done["statecode"].as_i64(), done["statuscode"].as_i64()), (Some(1), Some(2)), "[{backend}]");
        // Without the CSRF value nothing moves.
        let r = srv.form_as(
            &srv.token,
            &format!("{record}/stage"),
            &[("instance", instance.clone()), ("move", "next".into())],
        );
        assert_eq!(r.status, 403, "[{backend}]");
        // A salesperson's own opportunity has the bar; another's record is not theirs to move.
        let rep = srv.new_user(&["Salesperson"]);
        let own = srv.send(srv.req_as(&rep.token, Method::POST, "/opportunities").json(&json!({ "name": "Rep deal" })));
        own.expect(204);
        let own_id = own.entity_id();
        let page = srv.page_as(&rep.token, &format!("/ui/opportunities/{own_id}")).text();
        assert!(page.contains("data-testid=\"stage-next\""), "[{backend}] the rep moves their own deal");
    }
}

#[test]
fn a_flow_is_built_reordered_and_trimmed_in_the_designer() {
    for backend in backends() {
        let e = env(backend);
        let srv = &e.srv;
        let path = "/ui/processes/new";
        let page = e.page("/ui/processes/new?category=4");
        assert!(page.contains("name=\"st.0.name\""), "[{backend}] a new flow starts with a stage");
        assert!(selected(&page, "st.0.entity", ""), "[{backend}] the process's own table");
        let mut form: Form = vec![
            ("category", "4".into()),
            ("name", "Lead walk".into()),
            ("entity", "lead".into()),
            ("st.0.id", String::new()),
            ("st.0.name", "Contact".into()),
            ("st.0.entity", String::new()),
        ];
        let page = e.press(path, &form, "refresh");
        assert!(offers(&page, "st.0.req", "companyname"), "[{backend}] the lead's columns to require");
        let page = e.press(path, &form, "add:st");
        assert!(page.contains("name=\"st.1.name\""), "[{backend}]");
        form.extend([
            ("st.0.req", "companyname".into()),
            ("st.1.id", String::new()),
            ("st.1.name", "Qualify".into()),
            ("st.1.entity", "lead".into()),
            ("st.2.id", String::new()),
            ("st.2.name", "Hand over".into()),
            ("st.2.entity", "lead".into()),
        ]);
        let id = e.save(path, &form, "save");
        let stages = |id: Uuid| -> Vec<(String, String)> {
            srv.get(&format!("processstages?$filter=_processid_value eq {id}&$orderby=relata_stageorder"))
                .expect(200)
                .rows()
                .iter()
                .map(|r| {
                    (
                        r["stagename"].as_str().unwrap().to_string(),
                        r["relata_requiredfields"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        };
        let names = |id: Uuid| stages(id).into_iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(stages(id)[0], ("Contact".to_string(), "companyname".to_string()), "[{backend}]");
        assert_eq!(names(id), ["Contact", "Qualify", "Hand over"], "[{backend}]");
        // The editor reads the rows back: moving one down, then removing one.
        let edit = format!("/ui/processes/{id}");
        let read_back = |page: &str| -> Form {
            let mut f: Form = vec![("category", "4".into()), ("name", "Lead walk".into())];
            for i in 0..3 {
                let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
                let Some(at) = page.find(&format!("name=\"st.{i}.id\" value=\"")) else { break };
                let sid = page[at..].split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
                let at = page.find(&format!("name=\"st.{i}.name\" type=\"text\" value=\"")).unwrap();
                let name = page[at..].split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
                f.extend([(leak(format!("st.{i}.id")), sid), (leak(format!("st.{i}.name")), name)]);
                f.push((leak(format!("st.{i}.entity")), "lead".into()));
            }
            f
        };
        let form = read_back(&e.page(&edit));
        let moved = e.press(&edit, &form, "down:st.0");
        assert_eq!(e.save(&edit, &read_back(&moved), "save"), id);
        assert_eq!(names(id), ["Qualify", "Contact", "Hand over"], "[{backend}] reordered");
        let trimmed = e.press(&edit, &read_back(&e.page(&edit)), "del:st.2");
        assert_eq!(e.save(&edit, &read_back(&trimmed), "activate"), id);
        assert_eq!(names(id), ["Qualify", "Contact"], "[{backend}] removed");
        // Activated: a new lead walks it, and its page shows the bar.
        let lead = srv.create("leads", &json!({ "subject": "Walker", "lastname": "Walker" }));
        let page = e.page(&format!("/ui/leads/{lead}"));
        assert!(page.contains("aria-label=\"Business process: Lead walk\""), "[{backend}] {page}");
        assert!(page.contains("aria-current=\"step\" data-stage=\"Qualify\""), "[{backend}]");
    }
}

#[test]
fn run_workflow_from_the_record_starts_a_job() {
    for backend in backends() {
        let e = env(backend);
        let srv = &e.srv;
        let path = "/ui/processes/new";
        let mut form: Form = vec![
            ("category", "0".into()),
            ("name", "Mark as reviewed".into()),
            ("entity", "account".into()),
            ("on_demand", "1".into()),
            ("s.new", "update".into()),
        ];
        e.press(path, &form, "add:s");
        form.retain(|(k, _)| *k != "s.new");
        form.extend([
            ("s.0.type", "update".into()),
            ("s.0.target", "record".into()),
            ("s.0.v.0.col", "description".into()),
            ("s.0.v.0.kind", "text".into()),
            ("s.0.v.0.val", "Reviewed: {{ record.name }}".into()),
        ]);
        let wf = e.save(path, &form, "activate");
        let acc = srv.create("accounts", &json!({ "name": "Dormant Co" }));
        let record = format!("/ui/accounts/{acc}");
        let page = e.page(&record);
        assert!(page.contains("data-testid=\"run-workflow\""), "[{backend}]");
        assert!(page.contains(&format!("<option value=\"{wf}\">Mark as reviewed</option>")), "[{backend}]");
        let r = e.post(&format!("{record}/run-workflow"), &[("workflow", wf.to_string())]);
        assert_eq!(r.status, 303, "[{backend}] {}", r.text());
        let to = r.header("location").unwrap();
        let job = to.split("job=").nth(1).unwrap().to_string();
        let page = decode(&e.page(&to));
        assert!(page.contains(&format!("href=\"/ui/asyncoperations/{job}\"")), "[{backend}] a link to the job");
        e.run_jobs();
        assert_eq!(
            srv.retrieve("accounts", acc, "$select=description")["description"],
            "Reviewed: Dormant Co",
            "[{backend}]"
        );
        let page = e.page(&format!("/ui/asyncoperations/{job}"));
        assert!(page.contains("data-testid=\"log-row\""), "[{backend}] the run's log");
        // From a list selection: a run per ticked record, in one go.
        let more: Vec<Uuid> =
            ["North Co", "South Co"].iter().map(|n| srv.create("accounts", &json!({ "name": n }))).collect();
        let list = e.page("/ui/accounts");
        assert!(list.contains(&format!("value=\"workflow:{wf}\"")), "[{backend}] offered in the list's actions");
        let mut bulk = vec![("action", format!("workflow:{wf}")), ("back", "/ui/accounts".to_string())];
        bulk.extend(more.iter().map(|id| ("ids", id.to_string())));
        let r = e.post("/ui/accounts/bulk", &bulk);
        assert_eq!(r.status, 303, "[{backend}] {}", r.text());
        e.run_jobs();
        for (id, name) in more.iter().zip(["North Co", "South Co"]) {
            let d = srv.retrieve("accounts", *id, "$select=description")["description"].clone();
            assert_eq!(d, format!("Reviewed: {name}"), "[{backend}]");
        }
        // A workflow that is not on demand is refused on the page, not with a 500.
        let other = srv.create(
            "workflows",
            &json!({ "name": "Auto", "category": 0, "primaryentity": "account", "clientdata": "{\"steps\": []}" }),
        );
        let r = e.post(&format!("{record}/run-workflow"), &[("workflow", other.to_string())]);
        assert_eq!(r.status, 303, "[{backend}]");
        assert!(decode(&problem(&e.page(&r.header("location").unwrap()))).contains("is not activated"), "[{backend}]");
    }
}

#[test]
fn processes_in_chromium() {
    for backend in backends() {
        let e = env(backend);
        let srv = &e.srv;
        build_rule(&e, "Legal entities");
        require_on_develop(&e, "description");
        let opp = srv.create("opportunities", &json!({ "name": "Browser deal" }));
        // A run to read the log of.
        build_propose_workflow(&e, "Propose task (posted)");
        let logged = srv.create("opportunities", &json!({ "name": "Logged deal", "description": "ready" }));
        for stage in [1, 2] {
            srv.patch(&format!("opportunities({logged})"), &json!({ "salesstage": stage })).expect(204);
        }
        e.run_jobs();
        let runs = srv
            .get("asyncoperations?$filter=relata_jobtype eq 'processes.workflow' and statuscode eq 30&$orderby=createdon desc")
            .expect(200)
            .rows();
        let job = runs[0]["asyncoperationid"].as_str().unwrap().to_string();
        common::run_ui_script(
            srv,
            "processes.mjs",
            &[("RELATA_OPPORTUNITY_ID", opp.to_string()), ("RELATA_JOB_ID", job)],
        );
    }
}

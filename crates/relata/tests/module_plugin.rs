//! A business module that exists only in this test — a help desk with its
//! own entity, a step, an action and a lifecycle, declared in one place —
//! runs through the Web API and the web UI with no change to core files:
//! its table is created, its entity is in `$metadata` and in a navigation
//! area of its own, its lifecycle decides which state changes an update
//! may make and which only its action may, and the record page offers the
//! buttons its metadata declares.

mod common;

use std::sync::Arc;

use common::{backends, enc, open_org, start_with_modules, uid, Srv};
use relata_engine::modules::{self, Action, ActionRequest, ActionResponse, Binding, Grant, Message, Module, ParamType};
use relata_engine::modules::{Registry, Stage, Step, StepContext};
use relata_engine::{Condition, EngineError, RecordInput, Result, Session};
use relata_metadata::Value;
use relata_security::{Depth, RIGHTS};
use serde_json::json;
use uuid::Uuid;

const SCHEMA: &str = r#"
[[entity]]
name = "hd_ticket"
schema_name = "hd_Ticket"
entity_set = "hd_tickets"
label = { en = "Ticket", ru = "Заявка" }
plural_label = { en = "Tickets", ru = "Заявки" }
primary_id = "hd_ticketid"
primary_name = "hd_title"
ownership = "user"
object_type_code = 20001
has_notes = true
areas = [{ area = "helpdesk", order = 10 }]

[[entity.transitions]]
from = [0]
to = 1
label = { en = "Start work", ru = "Взять в работу" }

[[entity.transitions]]
from = [1]
to = 2
via = ["hd_Resolve"]

[[entity.transitions]]
from = [2]
to = 0
label = { en = "Reopen", ru = "Открыть снова" }

[[entity.states]]
value = 0
name = "New"
label = { en = "New", ru = "Новая" }
default_status = 1
statuses = [{ value = 1, label = { en = "New", ru = "Новая" } }]

[[entity.states]]
value = 1
name = "InProgress"
label = { en = "In Progress", ru = "В работе" }
default_status = 2
statuses = [{ value = 2, label = { en = "In Progress", ru = "В работе" } }]

[[entity.states]]
value = 2
name = "Resolved"
label = { en = "Resolved", ru = "Решена" }
default_status = 3
read_only = true
statuses = [
  { value = 3, label = { en = "Resolved", ru = "Решена" } },
  { value = 4, label = { en = "Duplicate", ru = "Дубликат" } },
]

[[entity.attributes]]
name = "hd_title"
schema_name = "hd_Title"
type = "string"
label = { en = "Title", ru = "Тема" }
max_length = 200
required = "application"

[[entity.attributes]]
name = "hd_priority"
schema_name = "hd_Priority"
type = "integer"
label = { en = "Priority", ru = "Приоритет" }
min = 1
max = 3

[[entity.attributes]]
name = "hd_resolution"
schema_name = "hd_Resolution"
type = "string"
label = { en = "Resolution", ru = "Решение" }
max_length = 2000
"#;

struct Helpdesk;

impl Module for Helpdesk {
    fn name(&self) -> &'static str {
        "helpdesk"
    }

    fn depends_on(&self) -> &'static [&'static str] {
        &["platform"]
    }

    fn register(&self, r: &mut Registry) {
        r.schema("helpdesk.toml", SCHEMA)
            .grant("Salesperson", Grant { entities: &["hd_ticket"], rights: &RIGHTS, depth: Depth::User })
            .step(
                Step::new("default_priority", Message::Create, Stage::PreOperation, default_priority)
                    .entity("hd_ticket")
                    .describe("A new ticket is of normal priority unless it says otherwise."),
            )
            .action(
                Action::new("hd_Resolve", resolve)
                    .describe("Resolves a ticket in progress, with how it was resolved.")
                    .label("Resolve", "Решить")
                    .bound(Binding::Entity("hd_ticket"))
                    .param("Resolution", ParamType::String)
                    .labelled("How it was resolved", "Как решена")
                    .optional("Duplicate", ParamType::Boolean)
                    .labelled("A duplicate", "Дубликат"),
            );
    }
}

fn default_priority(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    if c.target.get("hd_priority").is_none_or(|v| *v == Value::Null) {
        c.target.insert("hd_priority".into(), Value::Int(2));
    }
    Ok(())
}

fn resolve(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let resolution = req.string("Resolution").unwrap_or_default().trim().to_string();
    if resolution.is_empty() {
        return Err(EngineError::Invalid("a ticket is resolved with a resolution".into()));
    }
    let status = if req.bool("Duplicate") == Some(true) { 4 } else { 3 };
    let input = RecordInput::new(vec![
        ("hd_resolution".into(), Value::String(resolution)),
        ("statecode".into(), Value::Int(2)),
        ("statuscode".into(), Value::Int(status)),
    ]);
    s.update("hd_ticket", req.bound()?, input, Condition::default(), false)?;
    Ok(ActionResponse::Empty)
}

fn state(srv: &Srv, id: Uuid) -> (i64, i64) {
    let t = srv.retrieve("hd_tickets", id, "?$select=statecode,statuscode");
    (t["statecode"].as_i64().unwrap(), t["statuscode"].as_i64().unwrap())
}

#[test]
fn a_module_brings_an_entity_a_step_an_action_and_a_lifecycle_to_the_web_api_and_the_ui() {
    for backend in backends() {
        let mut list = modules::standard();
        list.push(Arc::new(Helpdesk));
        let srv = start_with_modules(backend, list);

        // The entity, its step and its action, through the Web API.
        let title = format!("Printer jams {}", uid());
        let id = srv.create("hd_tickets", &json!({ "hd_title": title }));
        let t = srv.retrieve("hd_tickets", id, "");
        assert_eq!(t["hd_priority"], 2, "{backend}: the module's step filled the priority: {t}");
        assert_eq!(state(&srv, id), (0, 1));
        let m = srv.patch(&format!("hd_tickets({id})"), &json!({ "hd_priority": 9 })).expect_error(400);
        assert!(m.contains("hd_priority"), "{m}");

        // The lifecycle: only its action resolves, a plain update starts work.
        let m = srv.patch(&format!("hd_tickets({id})"), &json!({ "statecode": 2 })).expect_error(400);
        assert!(m.contains("A ticket cannot go from New to Resolved"), "{backend}: {m}");
        srv.patch(&format!("hd_tickets({id})"), &json!({ "statecode": 1 })).expect(204);
        let m = srv.patch(&format!("hd_tickets({id})"), &json!({ "statecode": 2 })).expect_error(400);
        assert!(m.contains("becomes Resolved through hd_Resolve"), "{backend}: {m}");
        let resolve = format!("hd_tickets({id})/Microsoft.Dynamics.CRM.hd_Resolve");
        let m = srv.post(&resolve, &json!({})).expect_error(400);
        assert!(m.contains("hd_Resolve needs the parameter 'Resolution'"), "{m}");
        srv.post(&resolve, &json!({ "Resolution": "Replaced the roller", "Duplicate": true })).expect(204);
        assert_eq!(state(&srv, id), (2, 4), "{backend}: resolved as a duplicate");
        let m = srv.patch(&format!("hd_tickets({id})"), &json!({ "hd_title": "changed" })).expect_error(400);
        assert!(m.contains("This ticket is resolved and cannot be edited"), "{backend}: {m}");
        let m = srv.post(&format!("accounts({})/Microsoft.Dynamics.CRM.hd_Resolve", Uuid::nil()), &json!({}));
        assert!(m.expect_error(400).contains("not an operation bound to 'account'"));

        // $metadata and the step catalog know the module.
        let csdl = srv.get("$metadata").expect(200).text();
        assert!(csdl.contains(r#"<EntityType Name="hd_ticket""#));
        assert!(csdl
            .contains(r#"<Action Name="hd_Resolve" IsBound="true"><Parameter Name="entity" Type="mscrm.hd_ticket""#));
        let steps = srv.get("sdkmessageprocessingsteps?$filter=relata_module eq 'helpdesk'").expect(200).rows();
        assert_eq!(steps.len(), 1, "{steps:?}");
        let apis = srv.get("customapis?$filter=relata_module eq 'helpdesk'").expect(200).rows();
        assert_eq!(apis.len(), 1, "{apis:?}");
        assert_eq!((&apis[0]["uniquename"], &apis[0]["bindingtype"]), (&json!("hd_Resolve.hd_ticket"), &json!(1)));
        assert_eq!(apis[0]["boundentitylogicalname"], "hd_ticket");

        // The web UI: its own area, its list, and the buttons its metadata declares.
        let token = &srv.token;
        let home = srv.page_as(token, "/").expect(200).text();
        assert!(
            home.contains("<h2>Helpdesk</h2>") && home.contains(r#"href="/ui/hd_tickets">Tickets"#),
            "no Helpdesk area: {home}"
        );
        // Reopened by a plain update, the ticket is listed among the open ones.
        srv.patch(&format!("hd_tickets({id})"), &json!({ "statecode": 0 })).expect(204);

        // An engine refusal names its field and speaks the user's language:
        // the form shows it at the field, in Russian for a Russian user.
        let csrf = srv.csrf_of(token);
        let edit = |priority: &str, language: &str| {
            srv.send(
                srv.raw(reqwest::Method::POST, &format!("{}/ui/hd_tickets/{id}/edit", srv.base_url))
                    .header("Cookie", format!("relata_session={token}"))
                    .header("Accept-Language", language)
                    .form(&[("csrf", csrf.clone()), ("hd_title", title.clone()), ("hd_priority", priority.into())]),
            )
        };
        let r = edit("9", "ru");
        assert_eq!(r.status, 400);
        let html = r.text();
        let at = html.find("Значение 9 вне допустимого диапазона: от 1 до 3.").expect("the Russian text");
        let field = html.find("name=\"hd_priority\"").expect("the priority field");
        assert!(html[field.min(at)..field.max(at)].len() < 1500, "the message is at its field: {html}");
        let r = edit("9", "en");
        assert!(r.text().contains("9 is out of range [1, 3]"), "English for an English user");
        // A refusal of the lifecycle, in Russian, through the record's form.
        srv.patch(&format!("hd_tickets({id})"), &json!({ "statecode": 1 })).expect(204);
        srv.post(&resolve, &json!({ "Resolution": "Cleaned" })).expect(204);
        let html = edit("1", "ru").text();
        assert!(html.contains("в состоянии «Решена» и не может быть изменена"), "{html}");
        srv.patch(&format!("hd_tickets({id})"), &json!({ "statecode": 0 })).expect(204);
        let list = srv.page_as(token, "/ui/hd_tickets").expect(200).text();
        assert!(list.contains(&title), "the list shows the ticket: {list}");
        let page = format!("/ui/hd_tickets/{id}");
        let html = srv.page_as(token, &page).expect(200).text();
        assert!(html.contains("Start work") && !html.contains("Reopen"), "a new ticket can be started");
        assert!(!html.contains(">Resolve<"), "resolving is for tickets in progress");
        let csrf = srv.csrf_of(token);
        let r = srv.form_as(token, &format!("{page}/act/state_1"), &[("csrf", csrf.clone())]);
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(state(&srv, id), (1, 2));
        let html = srv.page_as(token, &page).expect(200).text();
        assert!(html.contains("Resolve") && html.contains("name=\"Resolution\""), "the action's form: {html}");
        assert!(html.contains("How it was resolved"), "its input is labelled as the module says");
        let ru = srv.page_as(token, &format!("{page}?lang=ru")).expect(200).text();
        assert!(ru.contains("Решить") && ru.contains("Как решена"), "and in Russian");
        let r = srv.form_as(
            token,
            &format!("{page}/act/op_hd_Resolve"),
            &[("csrf", csrf.clone()), ("Resolution", "Cleaned the rollers".into())],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(state(&srv, id), (2, 3), "{backend}: resolved from the record page");
        let html = srv.page_as(token, &page).expect(200).text();
        assert!(html.contains("Reopen") && !html.contains("Start work"), "a resolved ticket can be reopened");
        // A button the state does not offer is refused, not run.
        let r = srv.form_as(token, &format!("{page}/act/state_1"), &[("csrf", csrf)]);
        assert_ne!(r.status, 303);
        assert_eq!(state(&srv, id), (2, 3));
    }
}

/// The same module in Chromium: its area, list, buttons and generated form.
#[test]
fn a_module_s_pages_work_in_chromium() {
    for backend in backends() {
        let mut list = modules::standard();
        list.push(Arc::new(Helpdesk));
        let srv = start_with_modules(backend, list);
        let title = format!("Scanner offline {}", uid());
        let id = srv.create("hd_tickets", &json!({ "hd_title": title }));
        common::run_ui_script_at(
            backend,
            &srv.base_url,
            "module.mjs",
            &[("RELATA_TICKET_ID", id.to_string()), ("RELATA_TICKET_TITLE", title)],
        );
        assert_eq!(state(&srv, id), (2, 3), "{backend}: resolved in the browser");
    }
}

/// Executes one statement on the server's database, as an older version
/// or an administrator with a SQL console would.
fn execute_sql(srv: &Srv, sql: &str) {
    match &srv.database_url {
        Some(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
            c.batch_execute(sql).unwrap();
        }
        None => {
            let c = rusqlite::Connection::open(srv.data_dir.join("relata.db")).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            c.execute_batch(sql).unwrap();
        }
    }
}

/// The names of the privileges a role holds, sorted.
fn role_privileges(srv: &Srv, role: Uuid) -> Vec<String> {
    let v = srv.get(&format!("/RetrieveRolePrivilegesRole(RoleId=@r)?@r={role}")).expect(200).json();
    let mut names: Vec<String> =
        v["RolePrivileges"].as_array().unwrap().iter().map(|p| p["PrivilegeName"].as_str().unwrap().into()).collect();
    names.sort();
    names
}

/// A standard role gains what a module enabled later (or a newer version)
/// adds to it, once: what an administrator took away stays away, and a
/// database from before the role's grants were recorded gains the
/// privileges on entities new to the role.
#[test]
fn standard_roles_gain_what_a_new_module_adds_and_keep_what_administrators_took_away() {
    for backend in backends() {
        let mut list = modules::standard();
        list.push(Arc::new(Helpdesk));
        let config = relata_engine::OrgConfig { modules: list, ..relata_engine::OrgConfig::default() };
        let srv = start_with_modules(backend, config.modules.clone());
        // The user is made by the CLI, which opens the database without the
        // help desk: its entity and privileges are gone until it opens again
        // with the module, as a server that enables a module would.
        let seller = srv.new_user(&["Salesperson"]);
        let role = srv.get(&format!("/roles?$select=roleid&$filter={}", enc("name eq 'Salesperson'"))).rows()[0]
            ["roleid"]
            .as_str()
            .unwrap()
            .parse::<Uuid>()
            .unwrap();
        assert!(!role_privileges(&srv, role).iter().any(|p| p.ends_with("hd_Ticket")), "{backend}");
        drop(open_org(&srv, &config));
        let held = role_privileges(&srv, role);
        for p in ["prvCreatehd_Ticket", "prvReadhd_Ticket", "prvWritehd_Ticket", "prvDeletehd_Ticket"] {
            assert!(held.contains(&p.to_string()), "{backend}: the module's grant reached the role: {p} in {held:?}");
        }
        let ticket = json!({ "hd_title": format!("Screen flickers {}", uid()) });
        let as_seller = |method: reqwest::Method, path: &str, body: Option<&serde_json::Value>| {
            let rb = srv.req_as(&seller.token, method, path);
            srv.send(match body {
                Some(b) => rb.json(b),
                None => rb,
            })
        };
        as_seller(reqwest::Method::POST, "hd_tickets", Some(&ticket)).expect(204);

        // The administrator takes creating tickets away; opening again does
        // not give it back.
        let create = srv
            .get(&format!("/privileges?$select=privilegeid&$filter={}", enc("name eq 'prvCreatehd_Ticket'")))
            .rows()[0]["privilegeid"]
            .clone();
        srv.post(
            &format!("/roles({role})/Microsoft.Dynamics.CRM.RemovePrivilegeRole"),
            &json!({ "Privilege": { "privilegeid": create } }),
        )
        .expect(204);
        drop(open_org(&srv, &config));
        let held = role_privileges(&srv, role);
        assert!(!held.contains(&"prvCreatehd_Ticket".to_string()), "{backend}: {held:?}");
        assert!(held.contains(&"prvReadhd_Ticket".to_string()), "{backend}: {held:?}");
        let m = as_seller(reqwest::Method::POST, "hd_tickets", Some(&ticket)).expect_error(403);
        assert!(m.contains("prvCreatehd_Ticket"), "{backend}: {m}");

        // A database from before the grants were recorded, whose roles never
        // had notifications: the roles gain them, and nothing else comes back.
        execute_sql(
            &srv,
            "DELETE FROM relata_roleseed;
             DELETE FROM roleprivileges WHERE privilegeid IN
                 (SELECT privilegeid FROM privilege WHERE name LIKE 'prv%AppNotification')",
        );
        assert!(!role_privileges(&srv, role).iter().any(|p| p.ends_with("AppNotification")), "{backend}");
        drop(open_org(&srv, &config));
        let held = role_privileges(&srv, role);
        for p in ["prvCreateAppNotification", "prvReadAppNotification", "prvWriteAppNotification"] {
            assert!(held.contains(&p.to_string()), "{backend}: {p} in {held:?}");
        }
        assert!(!held.contains(&"prvCreatehd_Ticket".to_string()), "{backend}: {held:?}");
        as_seller(reqwest::Method::GET, "appnotifications?$select=title", None).expect(200);
    }
}

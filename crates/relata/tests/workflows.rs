//! Workflows end to end, on SQLite and PostgreSQL: "an opportunity reaches
//! Propose → a task for its owner and an email to the customer from a
//! template", once per change, the email arriving at a real SMTP server;
//! real-time workflows refusing a change; durable waits across a restart;
//! the run's log; on-demand runs; runaway loops stopped; bad definitions
//! refused by name; versions that never break runs in flight.

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use common::mail::SmtpSink;
use common::{backends, open_org, start_org, uid, Srv};
use relata_engine::jobs::{Runner, RunnerConfig};
use relata_engine::{Clock, MailSettings, ManualClock, OrgConfig};
use serde_json::{json, Value};
use uuid::Uuid;

struct Env {
    srv: Srv,
    clock: Arc<ManualClock>,
    runner: Runner,
    config: OrgConfig,
}

fn env(backend: &'static str, smtp: Option<String>) -> Env {
    let clock = ManualClock::new();
    let mail = MailSettings { smtp_url: smtp, from_address: Some("crm@relata.test".into()), ..MailSettings::default() };
    let config = OrgConfig { clock: clock.clone(), mail, ..OrgConfig::default() };
    let (srv, org) = start_org(backend, config.clone());
    let runner = Runner::new(org, RunnerConfig { host: "wf-test".into(), ..RunnerConfig::default() });
    runner.run_due(20).unwrap();
    Env { srv, clock, runner, config }
}

impl Env {
    fn run(&self) {
        self.runner.run_due(100).unwrap();
    }

    /// An activated workflow of `entity` with these columns and definition.
    fn workflow(&self, entity: &str, columns: Value, definition: Value) -> Uuid {
        let mut body = json!({
            "name": format!("wf {}", uid()),
            "category": 0,
            "primaryentity": entity,
            "scope": 4,
            "clientdata": definition.to_string(),
        });
        for (k, v) in columns.as_object().unwrap() {
            body[k] = v.clone();
        }
        let id = self.srv.create("workflows", &body);
        self.srv.patch(&format!("workflows({id})"), &json!({ "statecode": 1, "statuscode": 2 })).expect(204);
        id
    }

    fn tasks_regarding(&self, id: Uuid) -> Vec<Value> {
        self.srv.get(&format!("tasks?$filter=_regardingobjectid_value eq {id}&$orderby=createdon")).expect(200).rows()
    }

    fn runs_of(&self, workflow_name: &str) -> Vec<Value> {
        let q = format!("asyncoperations?$filter=relata_jobtype eq 'processes.workflow' and name eq '{workflow_name}'");
        self.srv.get(&q).expect(200).rows()
    }
}

fn name_of(srv: &Srv, workflow: Uuid) -> String {
    srv.retrieve("workflows", workflow, "$select=name")["name"].as_str().unwrap().to_string()
}

#[test]
fn an_opportunity_at_propose_gets_a_task_and_the_customer_an_email_once_per_change() {
    for backend in backends() {
        let sink = SmtpSink::start();
        let e = env(backend, Some(sink.url()));
        let srv = &e.srv;
        let template = srv.create(
            "templates",
            &json!({
                "title": "Proposal",
                "templatetypecode": "opportunity",
                "subject": "Our proposal: {{ record.name }}",
                "body": "<p>Dear {{ record.parentcontactid.firstname }}, our proposal for {{ record.name }} is ready.</p>",
            }),
        );
        let definition = json!({
            "condition": { "field": "salesstage", "op": "eq", "value": 2 },
            "steps": [
                { "type": "create", "name": "Task for the owner", "entity": "task", "values": {
                    "subject": { "template": "Send the contract for {{ record.name }}" },
                    "regardingobjectid": { "record": true },
                    "ownerid": { "field": "ownerid" },
                    "scheduledend": { "now": { "days": 2 } } } },
                { "type": "sendemail", "name": "Email the customer", "template": template.to_string(),
                  "to": [ { "field": "parentcontactid" } ] },
            ],
        });
        let wf = e.workflow("opportunity", json!({ "triggeronupdateattributelist": "salesstage" }), definition);
        let contact = srv.create(
            "contacts",
            &json!({ "firstname": "Ivan", "lastname": "Petrov", "emailaddress1": "ivan@client.test" }),
        );
        let opp = srv.create(
            "opportunities",
            &json!({ "name": "CRM rollout", "parentcontactid@odata.bind": format!("/contacts({contact})") }),
        );
        e.run();
        assert!(e.tasks_regarding(opp).is_empty(), "{backend}: created, not at Propose");

        srv.patch(&format!("opportunities({opp})"), &json!({ "salesstage": 1 })).expect(204);
        e.run();
        assert!(e.tasks_regarding(opp).is_empty(), "{backend}: Develop does not meet the condition");

        srv.patch(&format!("opportunities({opp})"), &json!({ "salesstage": 2 })).expect(204);
        e.run();
        let tasks = e.tasks_regarding(opp);
        assert_eq!(tasks.len(), 1, "{backend}: {tasks:?}");
        assert_eq!(tasks[0]["subject"], "Send the contract for CRM rollout", "{backend}");
        assert_eq!(tasks[0]["_ownerid_value"], srv.admin_id().to_string(), "{backend}");
        let due = chrono::DateTime::parse_from_rfc3339(tasks[0]["scheduledend"].as_str().unwrap()).unwrap();
        assert!(
            (due.with_timezone(&chrono::Utc) - (e.clock.now() + Duration::days(2))).num_minutes().abs() <= 1,
            "{backend}"
        );
        // The email is queued by the workflow's job and sent by its own.
        e.run();
        let got = sink.wait_for(1, StdDuration::from_secs(10));
        let raw = String::from_utf8_lossy(&got[0].data).replace("=\r\n", "");
        assert_eq!(got[0].rcpt_tos, vec!["ivan@client.test"], "{backend}");
        assert!(raw.contains("Subject: Our proposal: CRM rollout CRM:"), "{backend}: {raw}");
        assert!(raw.contains("Dear Ivan, our proposal for CRM rollout is ready."), "{backend}: {raw}");

        // The same value again, and another column: no second run.
        srv.patch(&format!("opportunities({opp})"), &json!({ "salesstage": 2, "description": "again" })).expect(204);
        e.run();
        assert_eq!(e.tasks_regarding(opp).len(), 1, "{backend}: once per change");
        e.run();
        std::thread::sleep(StdDuration::from_millis(300));
        assert_eq!(sink.messages().len(), 1, "{backend}");

        // The run's log: each step, its inputs and its result.
        let runs = e.runs_of(&name_of(srv, wf));
        let done: Vec<&Value> = runs.iter().filter(|r| r["statuscode"] == 30).collect();
        assert_eq!(done.len(), 2, "{backend}: two changes of salesstage ran it, one met the condition: {runs:?}");
        let ran = runs
            .iter()
            .find(|r| {
                let id = r["asyncoperationid"].as_str().unwrap();
                !srv.get(&format!("workflowlogs?$filter=_asyncoperationid_value eq {id}")).expect(200).rows().is_empty()
            })
            .expect("a run with a log");
        let id = ran["asyncoperationid"].as_str().unwrap();
        let log = srv
            .get(&format!("workflowlogs?$filter=_asyncoperationid_value eq {id}&$orderby=relata_stepindex"))
            .expect(200)
            .rows();
        let steps: Vec<(&str, i64)> =
            log.iter().map(|l| (l["stepname"].as_str().unwrap(), l["status"].as_i64().unwrap())).collect();
        assert_eq!(steps, [("Task for the owner", 2), ("Email the customer", 2)], "{backend}");
        assert!(log[0]["relata_outputs"].as_str().unwrap().contains("\"task\""), "{backend}: {}", log[0]);
        assert!(log[1]["relata_inputs"].as_str().unwrap().contains(&template.to_string()), "{backend}");
    }
}

#[test]
fn a_real_time_workflow_refuses_a_change_with_its_message_and_fills_in_values() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        e.workflow(
            "account",
            json!({ "mode": 1, "triggeroncreate": true, "triggeronupdateattributelist": "name,relata_inn" }),
            json!({ "steps": [
                { "type": "if", "condition": { "all": [ { "field": "relata_inn", "op": "null" }, { "field": "name", "op": "contains", "value": "LLC" } ] },
                  "then": [ { "type": "stop", "status": "canceled", "message": "An LLC cannot be saved without its INN ({{ record.name }})." } ],
                  "else": [ { "type": "update", "values": { "description": { "template": "Checked: {{ record.name }}" } } } ] },
            ] }),
        );
        let err = srv.post("accounts", &json!({ "name": "Horns LLC" })).expect_error(400);
        assert_eq!(err, "An LLC cannot be saved without its INN (Horns LLC).", "{backend}");
        assert!(
            srv.get("accounts?$filter=name eq 'Horns LLC'").expect(200).rows().is_empty(),
            "{backend}: nothing saved"
        );
        let ok = srv.create("accounts", &json!({ "name": "Hooves LLC", "relata_inn": "7707083893" }));
        let a = srv.retrieve("accounts", ok, "$select=description");
        assert_eq!(a["description"], "Checked: Hooves LLC", "{backend}: the real-time update is in the same change");
        let err = srv.patch(&format!("accounts({ok})"), &json!({ "relata_inn": null })).expect_error(400);
        assert!(err.contains("without its INN"), "{backend}: {err}");
        assert_eq!(srv.retrieve("accounts", ok, "$select=relata_inn")["relata_inn"], "7707083893", "{backend}");
    }
}

#[test]
fn a_wait_survives_a_restart_and_a_new_version_never_breaks_a_run_in_flight() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        let definition = |subject: &str| {
            json!({ "steps": [
                { "type": "wait", "for": { "hours": 2 } },
                { "type": "create", "entity": "task", "values": { "subject": subject, "regardingobjectid": { "record": true } } },
            ] })
        };
        let wf = e.workflow("account", json!({ "triggeroncreate": true }), definition("Call after two hours"));
        let acc = srv.create("accounts", &json!({ "name": "Patient" }));
        e.run();
        let runs = e.runs_of(&name_of(srv, wf));
        assert_eq!(runs.len(), 1, "{backend}");
        assert_eq!(
            (runs[0]["statecode"].as_i64(), runs[0]["statuscode"].as_i64()),
            (Some(1), Some(10)),
            "{backend}: waiting"
        );
        assert!(e.tasks_regarding(acc).is_empty(), "{backend}");

        // A new version while the run waits: the run keeps its own.
        srv.patch(&format!("workflows({wf})"), &json!({ "description": "edited" })).expect_error(400);
        srv.patch(&format!("workflows({wf})"), &json!({ "statecode": 0, "statuscode": 1 })).expect(204);
        srv.patch(&format!("workflows({wf})"), &json!({ "clientdata": definition("Version two").to_string() }))
            .expect(204);
        srv.patch(&format!("workflows({wf})"), &json!({ "statecode": 1, "statuscode": 2 })).expect(204);
        assert_eq!(srv.retrieve("workflows", wf, "$select=relata_version")["relata_version"], 2, "{backend}");

        // A restart: another process on the same database takes the job up.
        // (The first runner is not used again: it stands for the stopped process.)
        let org = open_org(srv, &e.config);
        let runner = Runner::new(org, RunnerConfig { host: "wf-test-2".into(), ..RunnerConfig::default() });
        e.clock.advance(Duration::minutes(90));
        runner.run_due(100).unwrap();
        assert!(e.tasks_regarding(acc).is_empty(), "{backend}: not before the two hours");
        e.clock.advance(Duration::minutes(31));
        runner.run_due(100).unwrap();
        let tasks = e.tasks_regarding(acc);
        assert_eq!(tasks.len(), 1, "{backend}");
        assert_eq!(tasks[0]["subject"], "Call after two hours", "{backend}: the version the run started with");
        let runs = e.runs_of(&name_of(srv, wf));
        assert_eq!(runs[0]["statuscode"], 30, "{backend}: {runs:?}");

        let later = srv.create("accounts", &json!({ "name": "Later" }));
        e.clock.advance(Duration::hours(3));
        runner.run_due(100).unwrap();
        e.clock.advance(Duration::hours(3));
        runner.run_due(100).unwrap();
        assert_eq!(e.tasks_regarding(later)[0]["subject"], "Version two", "{backend}");
    }
}

#[test]
fn a_workflow_that_triggers_itself_is_stopped_at_the_depth_limit_and_says_so() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        let wf = e.workflow(
            "account",
            json!({ "triggeronupdateattributelist": "fax" }),
            json!({ "steps": [ { "type": "update", "values": { "fax": { "template": "{{ record.fax }}+" } } } ] }),
        );
        let acc = srv.create("accounts", &json!({ "name": "Echo" }));
        srv.patch(&format!("accounts({acc})"), &json!({ "fax": "1" })).expect(204);
        for _ in 0..20 {
            e.run();
        }
        let fax = srv.retrieve("accounts", acc, "$select=fax")["fax"].as_str().unwrap().to_string();
        assert_eq!(fax, "1+++++++", "{backend}: seven runs changed it, the eighth could not start a ninth");
        let runs = e.runs_of(&name_of(srv, wf));
        let failed: Vec<&Value> = runs.iter().filter(|r| r["statuscode"] == 31).collect();
        assert_eq!(failed.len(), 1, "{backend}: {runs:?}");
        assert!(failed[0]["message"].as_str().unwrap().contains("above the limit of 8"), "{backend}: {}", failed[0]);

        // Real-time: refused at once, nothing saved.
        e.workflow(
            "contact",
            json!({ "mode": 1, "triggeronupdateattributelist": "fax" }),
            json!({ "steps": [ { "type": "update", "values": { "fax": { "template": "{{ record.fax }}+" } } } ] }),
        );
        let c = srv.create("contacts", &json!({ "lastname": "Loop" }));
        let err = srv.patch(&format!("contacts({c})"), &json!({ "fax": "1" })).expect_error(400);
        assert!(err.contains("above the limit of 8"), "{backend}: {err}");
        assert!(srv.retrieve("contacts", c, "$select=fax")["fax"].is_null(), "{backend}");
    }
}

#[test]
fn an_on_demand_workflow_runs_on_a_record_and_bad_definitions_are_named() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        let wf = e.workflow(
            "account",
            json!({ "ondemand": true }),
            json!({ "steps": [
                { "type": "notify", "to": { "field": "ownerid" }, "title": { "template": "Look at {{ record.name }}" }, "priority": "high" },
                { "type": "setstate", "statecode": 1, "statuscode": 2 },
            ] }),
        );
        let acc = srv.create("accounts", &json!({ "name": "Dormant" }));
        let out = srv
            .post(&format!("workflows({wf})/Microsoft.Dynamics.CRM.ExecuteWorkflow"), &json!({ "EntityId": acc }))
            .expect(200)
            .json();
        let job: Uuid = out["Id"].as_str().unwrap().parse().unwrap();
        e.run();
        assert_eq!(srv.retrieve("asyncoperations", job, "")["statuscode"], 30, "{backend}");
        assert_eq!(srv.retrieve("accounts", acc, "$select=statecode")["statecode"], 1, "{backend}: deactivated");
        // The admin owns both: a notification to oneself is still made by a workflow.
        let notes = srv.get("appnotifications?$filter=title eq 'Look at Dormant'").expect(200).rows();
        assert_eq!(notes.len(), 1, "{backend}");
        assert_eq!(notes[0]["priority"], 200000001, "{backend}");

        // Not on demand, not activated, no such record.
        let auto = e.workflow("account", json!({ "triggeroncreate": true }), json!({ "steps": [] }));
        let err = srv
            .post(&format!("workflows({auto})/Microsoft.Dynamics.CRM.ExecuteWorkflow"), &json!({ "EntityId": acc }))
            .expect_error(400);
        assert!(err.contains("not available to run on demand"), "{backend}: {err}");
        srv.post(
            &format!("workflows({wf})/Microsoft.Dynamics.CRM.ExecuteWorkflow"),
            &json!({ "EntityId": Uuid::new_v4() }),
        )
        .expect_error(404);

        // Bad definitions are refused where they are wrong.
        for (def, says) in [
            (json!({ "steps": [ { "type": "teleport" } ] }), "steps[0]: unknown step type 'teleport'"),
            (json!({ "steps": [ { "type": "create", "entity": "nosuch" } ] }), "steps[0]: there is no entity 'nosuch'"),
            (
                json!({ "steps": [ { "type": "update", "values": { "nosuchcolumn": 1 } } ] }),
                "steps[0]: account has no column 'nosuchcolumn'",
            ),
            (
                json!({ "condition": { "field": "name", "op": "resembles", "value": 1 }, "steps": [] }),
                "unknown operator 'resembles'",
            ),
            (
                json!({ "steps": [ { "type": "if", "condition": { "field": "primarycontactid.nosuch" }, "then": [] } ] }),
                "contact has no column 'nosuch'",
            ),
            (json!({ "steps": [ { "type": "wait", "for": { "weeks": 1 } } ] }), "not 'weeks'"),
            (json!({ "stepz": [] }), "unknown key 'stepz'"),
        ] {
            let body =
                json!({ "name": "bad", "category": 0, "primaryentity": "account", "clientdata": def.to_string() });
            let err = srv.post("workflows", &body).expect_error(400);
            assert!(err.contains(says), "{backend}: {def} → {err}");
        }
        let err = srv
            .post(
                "workflows",
                &json!({ "name": "bad", "category": 0, "primaryentity": "account", "clientdata": "{not json" }),
            )
            .expect_error(400);
        assert!(err.contains("not JSON"), "{backend}: {err}");
        let rt_wait = json!({ "name": "bad", "category": 0, "primaryentity": "account", "mode": 1,
            "clientdata": json!({ "steps": [ { "type": "wait", "for": { "hours": 1 } } ] }).to_string() });
        let err = srv.post("workflows", &rt_wait).expect_error(400);
        assert!(err.contains("a real-time workflow cannot wait"), "{backend}: {err}");
    }
}

#[test]
fn a_business_rule_constrains_every_write_and_leaves_when_deactivated() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        let rule = srv.create(
            "workflows",
            &json!({
                "name": "Legal entities",
                "category": 2,
                "primaryentity": "account",
                "clientdata": json!({
                    "condition": { "field": "name", "op": "contains", "value": "LLC" },
                    "then": [
                        { "type": "required", "field": "relata_inn" },
                        { "type": "setvalue", "field": "description", "value": { "template": "Legal entity {{ record.name }}" } },
                        { "type": "hide", "field": "fax" },
                    ],
                    "else": [ { "type": "setdefault", "field": "telephone1", "value": "none given" } ],
                }).to_string(),
            }),
        );
        let limit = srv.create(
            "workflows",
            &json!({
                "name": "Credit limit",
                "category": 2,
                "primaryentity": "account",
                "clientdata": json!({
                    "condition": { "field": "creditlimit", "op": "gt", "value": 1000000 },
                    "then": [ { "type": "error", "field": "creditlimit", "message": "A credit limit above a million needs the CFO." } ],
                }).to_string(),
            }),
        );
        // Not active yet: nothing applies.
        srv.create("accounts", &json!({ "name": "Early LLC" }));
        for id in [rule, limit] {
            srv.patch(&format!("workflows({id})"), &json!({ "statecode": 1, "statuscode": 2 })).expect(204);
        }
        let err = srv.post("accounts", &json!({ "name": "Horns LLC" })).expect_error(400);
        assert_eq!(err, "INN is required (business rule 'Legal entities').", "{backend}");
        let ok = srv.create("accounts", &json!({ "name": "Hooves LLC", "relata_inn": "7707083893" }));
        let a = srv.retrieve("accounts", ok, "$select=description,telephone1");
        assert_eq!(a["description"], "Legal entity Hooves LLC", "{backend}");
        assert!(a["telephone1"].is_null(), "{backend}: the else branch does not run");
        let plain = srv.create("accounts", &json!({ "name": "Jane Doe" }));
        assert_eq!(srv.retrieve("accounts", plain, "$select=telephone1")["telephone1"], "none given", "{backend}");
        // An update is judged on the record as it would be.
        let err = srv.patch(&format!("accounts({plain})"), &json!({ "name": "Jane Doe LLC" })).expect_error(400);
        assert!(err.contains("INN is required"), "{backend}: {err}");
        let err = srv.patch(&format!("accounts({ok})"), &json!({ "creditlimit": 2000000 })).expect_error(400);
        assert_eq!(err, "A credit limit above a million needs the CFO.", "{backend}");
        // Bulk writes obey them too, all or nothing.
        let bulk = srv
            .post(
                "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
                &json!({ "Targets": [
                    { "@odata.type": "Microsoft.Dynamics.CRM.account", "name": "Bulk One" },
                    { "@odata.type": "Microsoft.Dynamics.CRM.account", "name": "Bulk LLC" },
                ] }),
            )
            .expect_error(400);
        assert!(bulk.contains("INN is required"), "{backend}: {bulk}");
        assert!(srv.get("accounts?$filter=name eq 'Bulk One'").expect(200).rows().is_empty(), "{backend}");
        // Bad rules are refused where they are wrong.
        let bad = srv
            .post(
                "workflows",
                &json!({ "name": "bad", "category": 2, "primaryentity": "account",
                    "clientdata": json!({ "then": [ { "type": "required", "field": "nosuch" } ] }).to_string() }),
            )
            .expect_error(400);
        assert!(bad.contains("then[0]: account has no column 'nosuch'"), "{backend}: {bad}");
        // Deactivated: the rule no longer applies.
        srv.patch(&format!("workflows({rule})"), &json!({ "statecode": 0, "statuscode": 1 })).expect(204);
        srv.create("accounts", &json!({ "name": "Free LLC" }));
    }
}

#[test]
fn a_process_flow_checks_the_stage_it_leaves_and_keeps_the_time_in_each() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        // The sales process is a business process flow like any other.
        let process = srv.get("workflows?$filter=category eq 4 and primaryentity eq 'opportunity'").expect(200).rows();
        assert_eq!(process.len(), 1, "{backend}");
        let process = process[0]["workflowid"].as_str().unwrap().to_string();
        let stages = srv
            .get(&format!("processstages?$filter=_processid_value eq {process}&$orderby=relata_stageorder"))
            .expect(200)
            .rows();
        let stage = |i: usize| stages[i]["processstageid"].as_str().unwrap().to_string();
        srv.patch(
            &format!("processstages({})", stage(0)),
            &json!({ "relata_requiredfields": "budgetamount, description" }),
        )
        .expect(204);

        let opp = srv.create("opportunities", &json!({ "name": "Flow deal" }));
        let instances = srv
            .get(&format!("businessprocessflowinstances?$filter=_relata_regardingid_value eq {opp}"))
            .expect(200)
            .rows();
        assert_eq!(instances.len(), 1, "{backend}");
        let instance = instances[0]["businessprocessflowinstanceid"].as_str().unwrap().to_string();
        assert_eq!(instances[0]["_activestageid_value"], stage(0), "{backend}: at the first stage");
        let bind = |i: usize| json!({ "activestageid@odata.bind": format!("/processstages({})", stage(i)) });

        // Forward with the required steps empty: refused, by name; the
        // opportunity's own stage change is held to the same rule.
        let err = srv.patch(&format!("businessprocessflowinstances({instance})"), &bind(1)).expect_error(400);
        assert!(
            err.contains("Fill in Budget Amount, Description before moving on from the stage 'Qualify'"),
            "{backend}: {err}"
        );
        let err = srv.patch(&format!("opportunities({opp})"), &json!({ "salesstage": 1 })).expect_error(400);
        assert!(err.contains("before moving on from the stage 'Qualify'"), "{backend}: {err}");
        // A skip is refused too.
        srv.patch(&format!("opportunities({opp})"), &json!({ "budgetamount": 5000, "description": "needs CRM" }))
            .expect(204);
        let err = srv.patch(&format!("businessprocessflowinstances({instance})"), &bind(2)).expect_error(400);
        assert!(err.contains("one stage at a time: the next stage is 'Develop'"), "{backend}: {err}");

        e.clock.advance(Duration::hours(1));
        srv.patch(&format!("businessprocessflowinstances({instance})"), &bind(1)).expect(204);
        let o = srv.retrieve("opportunities", opp, "$select=salesstage,stageid");
        assert_eq!(o["salesstage"], 1, "{backend}: the opportunity moved with its flow");
        let i = srv.retrieve("businessprocessflowinstances", instance.parse().unwrap(), "");
        assert_eq!(i["traversedpath"], format!("{},{}", stage(0), stage(1)), "{backend}");

        // The opportunity moving itself moves the flow.
        e.clock.advance(Duration::minutes(30));
        srv.patch(&format!("opportunities({opp})"), &json!({ "salesstage": 2 })).expect(204);
        let i = srv.retrieve("businessprocessflowinstances", instance.parse().unwrap(), "");
        assert_eq!(i["_activestageid_value"], stage(2), "{backend}");
        // Back is free.
        srv.patch(&format!("businessprocessflowinstances({instance})"), &bind(1)).expect(204);

        let times = srv
            .get(&format!("relata_stagetimes?$filter=_relata_instanceid_value eq {instance}&$orderby=relata_enteredon"))
            .expect(200)
            .rows();
        let stays: Vec<(String, Option<i64>)> = times
            .iter()
            .map(|t| (t["relata_name"].as_str().unwrap().to_string(), t["relata_seconds"].as_i64()))
            .collect();
        assert_eq!(
            stays,
            [
                ("Qualify".to_string(), Some(3600)),
                ("Develop".to_string(), Some(1800)),
                ("Propose".to_string(), Some(0)),
                ("Develop".to_string(), None)
            ],
            "{backend}"
        );
    }
}

/// A local stand-in for a remote HTTP API (a webhook receiver, an SMS
/// gateway): it keeps each request and answers the statuses it was told
/// for a path, in turn, then 200.
struct Stub {
    port: u16,
    seen: Arc<std::sync::Mutex<Vec<Request>>>,
}

/// A request the stub was sent: its path, headers (lower-case names) and body.
type Request = (String, Vec<(String, String)>, String);

fn stub(answers: Vec<(&'static str, Vec<u16>)>) -> Stub {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let answers = Arc::new(std::sync::Mutex::new(answers));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim().split_once(':') {
                    headers.push((k.trim().to_lowercase(), v.trim().to_string()));
                }
            }
            let len = headers.iter().find(|h| h.0 == "content-length").and_then(|h| h.1.parse().ok()).unwrap_or(0);
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let status = {
                let mut a = answers.lock().unwrap();
                a.iter_mut()
                    .find(|(p, _)| path.starts_with(*p))
                    .and_then(|(_, list)| (!list.is_empty()).then(|| list.remove(0)))
                    .unwrap_or(200)
            };
            kept.lock().unwrap().push((path, headers, String::from_utf8_lossy(&body).to_string()));
            let mut out = conn;
            let _ = write!(out, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    Stub { port, seen }
}

impl Stub {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self, path: &str) -> Vec<(Vec<(String, String)>, Value)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, h, b)| (h.clone(), serde_json::from_str(b).unwrap_or(Value::Null)))
            .collect()
    }
}

#[test]
fn webhooks_and_message_channels_call_out_with_retries() {
    for backend in backends() {
        let remote = stub(vec![("/hook", vec![503]), ("/gone", vec![404])]);
        let e = env(backend, None);
        let srv = &e.srv;
        let channel = srv.create(
            "relata_messagechannels",
            &json!({
                "relata_name": "SMS",
                "relata_url": remote.url("/send"),
                "relata_token": "t0ken",
                "relata_tokey": "phone",
                "relata_textkey": "message",
                "relata_extra": "{\"sender\": \"Relata\"}",
            }),
        );
        e.workflow(
            "contact",
            json!({ "triggeroncreate": true }),
            json!({ "steps": [
                { "type": "webhook", "url": remote.url("/hook"), "headers": { "X-Signature": "s1" } },
                { "type": "sendmessage", "channel": channel.to_string(), "to": { "field": "mobilephone" }, "text": "Welcome, {{ record.firstname }}!" },
            ] }),
        );
        let ivan = srv
            .create("contacts", &json!({ "firstname": "Ivan", "lastname": "Petrov", "mobilephone": "+79001234567" }));
        e.run();
        let sms = remote.requests("/send");
        assert_eq!(sms.len(), 1, "{backend}");
        assert_eq!(
            sms[0].1,
            json!({ "sender": "Relata", "phone": "+79001234567", "message": "Welcome, Ivan!" }),
            "{backend}"
        );
        assert!(sms[0].0.contains(&("authorization".into(), "Bearer t0ken".into())), "{backend}: {:?}", sms[0].0);

        // The webhook's receiver was down once: retried after the back-off.
        assert_eq!(remote.requests("/hook").len(), 1, "{backend}");
        let hooks = srv
            .get("asyncoperations?$filter=relata_jobtype eq 'processes.http' and startswith(name,'Webhook')")
            .expect(200)
            .rows();
        assert_eq!(hooks[0]["statuscode"], 10, "{backend}: waiting to retry: {}", hooks[0]);
        assert!(hooks[0]["message"].as_str().unwrap().contains("answered 503"), "{backend}");
        e.clock.advance(relata_engine::jobs::backoff(1) + Duration::seconds(1));
        e.run();
        let calls = remote.requests("/hook");
        assert_eq!(calls.len(), 2, "{backend}");
        assert_eq!(calls[1].1["id"], ivan.to_string(), "{backend}");
        assert_eq!(calls[1].1["record"]["firstname"], "Ivan", "{backend}");
        assert!(calls[1].0.contains(&("x-signature".into(), "s1".into())), "{backend}");
        let hook = srv.retrieve("asyncoperations", hooks[0]["asyncoperationid"].as_str().unwrap().parse().unwrap(), "");
        assert_eq!(hook["statuscode"], 30, "{backend}: {hook}");

        // A 404 is not retried: the job fails and says what the server said.
        e.workflow(
            "account",
            json!({ "triggeroncreate": true }),
            json!({ "steps": [ { "type": "webhook", "url": remote.url("/gone") } ] }),
        );
        srv.create("accounts", &json!({ "name": "Nowhere" }));
        e.run();
        let failed = srv
            .get("asyncoperations?$filter=relata_jobtype eq 'processes.http' and statuscode eq 31")
            .expect(200)
            .rows();
        assert_eq!(failed.len(), 1, "{backend}");
        assert!(failed[0]["message"].as_str().unwrap().contains("answered 404"), "{backend}: {}", failed[0]);
        let bad = json!({ "name": "bad", "category": 0, "primaryentity": "account",
            "clientdata": json!({ "steps": [ { "type": "webhook", "url": "ftp://x" } ] }).to_string() });
        let err = srv.post("workflows", &bad).expect_error(400);
        assert!(err.contains("not an http:// or https:// URL"), "{backend}: {err}");
    }
}

#[test]
fn a_scheduled_workflow_runs_for_the_records_that_meet_its_condition_each_time() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        let first = e.clock.now() + Duration::hours(1);
        let wf = e.workflow(
            "account",
            json!({ "relata_schedule": "FREQ=DAILY", "relata_schedulestart": first.to_rfc3339() }),
            json!({
                "condition": { "field": "creditlimit", "op": "gt", "value": 100 },
                "steps": [ { "type": "update", "values": { "description": { "template": "Reviewed {{ record.description }}" } } } ],
            }),
        );
        let big = srv.create("accounts", &json!({ "name": "Big", "creditlimit": 500, "description": "x" }));
        let small = srv.create("accounts", &json!({ "name": "Small", "creditlimit": 50, "description": "x" }));
        e.run();
        assert_eq!(srv.retrieve("accounts", big, "$select=description")["description"], "x", "{backend}: not yet");
        e.clock.advance(Duration::hours(1));
        e.run();
        assert_eq!(srv.retrieve("accounts", big, "$select=description")["description"], "Reviewed x", "{backend}");
        assert_eq!(srv.retrieve("accounts", small, "$select=description")["description"], "x", "{backend}");
        e.clock.advance(Duration::hours(24));
        e.run();
        assert_eq!(
            srv.retrieve("accounts", big, "$select=description")["description"],
            "Reviewed Reviewed x",
            "{backend}: the next day"
        );
        let jobs = srv
            .get(&format!(
                "asyncoperations?$filter=relata_jobtype eq 'processes.schedule' and relata_regardingid eq {wf}"
            ))
            .expect(200)
            .rows();
        assert_eq!(jobs.len(), 1, "{backend}");
        assert!(
            jobs[0]["message"].as_str().unwrap().contains("2 records looked at, 1 runs started"),
            "{backend}: {}",
            jobs[0]
        );

        srv.patch(&format!("workflows({wf})"), &json!({ "statecode": 0, "statuscode": 1 })).expect(204);
        let job = srv.retrieve("asyncoperations", jobs[0]["asyncoperationid"].as_str().unwrap().parse().unwrap(), "");
        assert_eq!(
            (job["statecode"].as_i64(), job["statuscode"].as_i64()),
            (Some(3), Some(32)),
            "{backend}: canceled with it"
        );
        e.clock.advance(Duration::hours(24));
        e.run();
        assert_eq!(
            srv.retrieve("accounts", big, "$select=description")["description"],
            "Reviewed Reviewed x",
            "{backend}"
        );

        let err =
            srv.patch(&format!("workflows({wf})"), &json!({ "relata_schedule": "FREQ=YEARLY" })).expect_error(400);
        assert!(err.contains("FREQ=YEARLY is not supported"), "{backend}: {err}");
    }
}

#[test]
fn scope_says_whose_records_start_a_workflow_and_an_assignment_is_a_trigger() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        let anna = srv.new_user(&["Salesperson"]);
        // User scope: the admin's own accounts only.
        let mine = e.workflow(
            "account",
            json!({ "scope": 1, "triggeroncreate": true }),
            json!({ "steps": [ { "type": "create", "entity": "task", "values": { "subject": "mine", "regardingobjectid": { "record": true } } } ] }),
        );
        let own = srv.create("accounts", &json!({ "name": "Admin's" }));
        let hers =
            srv.send(srv.req_as(&anna.token, reqwest::Method::POST, "accounts").json(&json!({ "name": "Anna's" })));
        let hers = common::id_from_url(&hers.header("OData-EntityId").unwrap());
        e.run();
        assert_eq!(e.tasks_regarding(own).len(), 1, "{backend}");
        assert!(e.tasks_regarding(hers).is_empty(), "{backend}: out of the User scope");
        srv.patch(&format!("workflows({mine})"), &json!({ "statecode": 0, "statuscode": 1 })).expect(204);

        // An assignment: the new owner is told by the workflow.
        e.workflow(
            "account",
            json!({ "triggeronupdateattributelist": "ownerid" }),
            json!({ "steps": [ { "type": "notify", "to": { "field": "ownerid" }, "title": { "template": "Yours now: {{ record.name }}" } } ] }),
        );
        srv.patch(&format!("accounts({own})"), &json!({ "ownerid@odata.bind": format!("/systemusers({})", anna.id) }))
            .expect(204);
        e.run();
        let told =
            srv.send(srv.req_as(&anna.token, reqwest::Method::GET, "appnotifications?$select=title&$orderby=title"));
        let titles: Vec<String> = told.rows().iter().map(|n| n["title"].as_str().unwrap().to_string()).collect();
        assert_eq!(
            titles,
            ["Account assigned to you: Admin's", "Yours now: Admin's"],
            "{backend}: the platform's and the workflow's"
        );
    }
}

#[test]
fn a_process_flow_spans_a_lead_and_the_opportunity_made_from_it() {
    for backend in backends() {
        let e = env(backend, None);
        let srv = &e.srv;
        let flow = srv.create(
            "workflows",
            &json!({ "name": "Lead to deal", "category": 4, "primaryentity": "lead", "clientdata": "{}" }),
        );
        let stage = |name: &str, entity: &str, order: i64, required: &str| {
            srv.create(
                "processstages",
                &json!({
                    "stagename": name,
                    "primaryentitytypecode": entity,
                    "relata_stageorder": order,
                    "relata_requiredfields": required,
                    "processid@odata.bind": format!("/workflows({flow})"),
                }),
            )
        };
        let qualify = stage("Qualify", "lead", 0, "companyname");
        let develop = stage("Develop", "opportunity", 1, "budgetamount");
        srv.patch(&format!("workflows({flow})"), &json!({ "statecode": 1, "statuscode": 2 })).expect(204);

        let lead = srv.create("leads", &json!({ "subject": "Interested", "lastname": "Sidorov" }));
        let rows = srv
            .get(&format!("businessprocessflowinstances?$filter=_relata_regardingid_value eq {lead} and _processid_value eq {flow}"))
            .expect(200)
            .rows();
        assert_eq!(rows.len(), 1, "{backend}");
        assert_eq!(rows[0]["_activestageid_value"], qualify.to_string(), "{backend}");
        let instance = rows[0]["businessprocessflowinstanceid"].as_str().unwrap().to_string();
        let to_develop = json!({ "activestageid@odata.bind": format!("/processstages({develop})") });
        let err = srv.patch(&format!("businessprocessflowinstances({instance})"), &to_develop).expect_error(400);
        assert!(err.contains("Fill in Company Name"), "{backend}: {err}");
        srv.patch(&format!("leads({lead})"), &json!({ "companyname": "Sidorov & Co" })).expect(204);
        let err = srv.patch(&format!("businessprocessflowinstances({instance})"), &to_develop).expect_error(400);
        assert!(err.contains("Create the opportunity of the stage 'Develop' first"), "{backend}: {err}");
        srv.create(
            "opportunities",
            &json!({ "name": "Sidorov deal", "originatingleadid@odata.bind": format!("/leads({lead})") }),
        );
        srv.patch(&format!("businessprocessflowinstances({instance})"), &to_develop).expect(204);
        // Finishing needs the last stage's columns, on the opportunity.
        let finish = json!({ "statecode": 1, "statuscode": 2 });
        let err = srv.patch(&format!("businessprocessflowinstances({instance})"), &finish).expect_error(400);
        assert!(err.contains("Fill in Budget Amount to finish the stage 'Develop'"), "{backend}: {err}");
    }
}

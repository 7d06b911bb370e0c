//! `BulkDelete`, Dataverse's action, through the Web API: the records the
//! queries select are deleted by a system job as the user who asked, a
//! record that cannot be deleted is counted and described, a recurring
//! bulk delete comes round each day until it is canceled, and a request
//! that cannot run is refused by name with nothing written.

mod common;

use std::sync::Arc;

use chrono::{Duration, SecondsFormat};
use common::{backends, start_org, uid, Srv};
use relata_engine::jobs::{Runner, RunnerConfig};
use relata_engine::modules::{self, Message, Module, Registry, Stage, Step, StepContext};
use relata_engine::{EngineError, ManualClock, Org, OrgConfig, Result, Session};
use relata_metadata::Value;
use serde_json::{json, Value as Json};
use uuid::Uuid;

/// Refuses to delete accounts whose name says so: a record the bulk
/// delete must skip and report.
struct Guard;

impl Module for Guard {
    fn name(&self) -> &'static str {
        "guard"
    }

    fn register(&self, r: &mut Registry) {
        r.step(Step::new("keep", Message::Delete, Stage::PreValidation, keep).entity("account"));
    }
}

fn keep(_: &mut Session<'_, '_, '_>, c: &mut StepContext<'_>) -> Result<()> {
    let name = c.pre_image.and_then(|p| p.get("name")).and_then(Value::as_str).unwrap_or_default();
    if name.contains("keep me") {
        return Err(EngineError::Invalid(format!("the guard keeps '{name}'")));
    }
    Ok(())
}

struct Env {
    srv: Srv,
    org: Arc<Org>,
    clock: Arc<ManualClock>,
    runner: Runner,
}

fn env(backend: &'static str) -> Env {
    let clock = ManualClock::new();
    // Without the email module's mailbox poll, so that the counts below
    // are the platform's jobs and the bulk deletes alone.
    let mut list: Vec<Arc<dyn Module>> =
        modules::standard().into_iter().filter(|m| !matches!(m.name(), "email" | "processes")).collect();
    list.push(Arc::new(Guard));
    let (srv, org) = start_org(backend, OrgConfig { modules: list, clock: clock.clone(), ..OrgConfig::default() });
    let runner = Runner::new(org.clone(), RunnerConfig { host: "bulk".into(), ..RunnerConfig::default() });
    assert_eq!(runner.run_due(10).unwrap().succeeded, 2, "the platform's maintenance, out of the way");
    Env { srv, org, clock, runner }
}

fn begins_with(entity: &str, column: &str, prefix: &str) -> Json {
    json!({
        "EntityName": entity,
        "ColumnSet": {"AllColumns": false, "Columns": []},
        "Distinct": false,
        "Criteria": {
            "FilterOperator": "And",
            "Conditions": [{"AttributeName": column, "Operator": "BeginsWith",
                            "Values": [{"Type": "System.String", "Value": prefix}]}],
            "Filters": []
        }
    })
}

fn request(queries: Vec<Json>, name: &str) -> Json {
    json!({
        "QuerySet": queries,
        "JobName": name,
        "SendEmailNotification": false,
        "ToRecipients": [],
        "CCRecipients": [],
        "RecurrencePattern": "",
    })
}

impl Env {
    fn count(&self, query: &str) -> usize {
        self.srv.get(query).expect(200).rows().len()
    }

    fn accounts(&self, prefix: &str) -> usize {
        self.count(&format!("accounts?$select=name&$filter=startswith(name,'{}')", common::enc(prefix)))
    }

    fn operation(&self, job: Uuid) -> Json {
        let rows =
            self.srv.get(&format!("bulkdeleteoperations?$filter=_asyncoperationid_value eq {job}")).expect(200).rows();
        assert_eq!(rows.len(), 1, "one operation per job: {rows:?}");
        rows[0].clone()
    }

    fn submit(&self, body: &Json) -> Uuid {
        let r = self.srv.post("BulkDelete", body);
        r.expect(200);
        let v = r.json();
        assert!(v["@odata.context"].as_str().unwrap().ends_with("$metadata#Microsoft.Dynamics.CRM.BulkDeleteResponse"));
        Uuid::parse_str(v["JobId"].as_str().expect("JobId")).expect("a GUID")
    }
}

fn state(v: &Json) -> (i64, i64) {
    (v["statecode"].as_i64().unwrap(), v["statuscode"].as_i64().unwrap())
}

#[test]
fn bulk_delete_removes_what_the_queries_select_and_reports_what_it_could_not() {
    for backend in backends() {
        let e = env(backend);
        let tag = uid();
        let prefix = format!("bd {tag} ");
        let mut kept = Vec::new();
        for i in 0..230 {
            let name = if i % 100 == 7 { format!("{prefix}{i} keep me") } else { format!("{prefix}{i}") };
            let id = e.srv.create("accounts", &json!({"name": name}));
            if name.contains("keep me") {
                kept.push(id);
            }
        }
        e.srv.create("accounts", &json!({"name": format!("other {tag}")}));
        let smith = format!("Smith & Sons + 50% {tag}");
        e.srv.create("contacts", &json!({"lastname": smith}));
        e.srv.create("contacts", &json!({"lastname": format!("Smith {tag}")}));

        let equal_smith = json!({
            "EntityName": "contact",
            "Criteria": {"Conditions": [{"AttributeName": "lastname", "Operator": "Equal",
                                         "Values": [{"Type": "System.String", "Value": smith}]}]}
        });
        // As the README shows it: nothing this old exists yet.
        let old_leads = json!({
            "EntityName": "lead",
            "Criteria": {"Conditions": [{"AttributeName": "createdon", "Operator": "OlderThanXMonths",
                                         "Values": [{"Type": "System.Int32", "Value": "12"}]}]}
        });
        let queries = vec![begins_with("account", "name", &prefix), equal_smith, old_leads];
        let job = e.submit(&request(queries, &format!("Clean {tag}")));

        let op = e.operation(job);
        assert_eq!(state(&op), (0, 0), "{op}");
        assert_eq!(op["name"], format!("Clean {tag}"));
        assert_eq!(op["isrecurring"], false);
        assert!(op["orderedquerysetxml"].as_str().unwrap().contains("operator=\"begins-with\""), "{op}");
        assert_eq!(e.accounts(&prefix), 230, "nothing is deleted in the request");
        let j = e.srv.retrieve("asyncoperations", job, "");
        assert_eq!(j["operationtype"], 13, "a Bulk Delete system job: {j}");

        // 230 accounts take three steps of 100, the contact and the leads
        // one more each.
        let r = e.runner.run_due(100).unwrap();
        assert_eq!((r.continued, r.succeeded, r.failed), (4, 1, 0), "{backend}: {r:?}");
        assert_eq!(e.accounts(&prefix), kept.len(), "only the guarded accounts are left");
        assert_eq!(e.accounts(&format!("other {tag}")), 1, "an account no query selects stays");
        let contacts = e.count(&format!("contacts?$filter=contains(lastname,'{tag}')"));
        assert_eq!(contacts, 1, "the '&', '+' and '%' of a value reach the filter intact");

        let op = e.operation(job);
        assert_eq!(state(&op), (3, 30), "{op}");
        assert_eq!(op["successcount"], 230 - kept.len() as i64 + 1);
        assert_eq!(op["failurecount"], kept.len() as i64);
        let j = e.srv.retrieve("asyncoperations", job, "");
        assert_eq!(state(&j), (3, 30));
        let message = format!(
            "Deleted {} records; {} could not be deleted (see Bulk Delete Failures).",
            230 - kept.len() + 1,
            kept.len()
        );
        assert_eq!(j["message"], message);

        let op_id = op["bulkdeleteoperationid"].as_str().unwrap();
        let failures = e
            .srv
            .get(&format!("bulkdeletefailures?$filter=_bulkdeleteoperationid_value eq {op_id}"))
            .expect(200)
            .rows();
        assert_eq!(failures.len(), kept.len(), "{failures:?}");
        for f in &failures {
            let id = Uuid::parse_str(f["relata_regardingid"].as_str().unwrap()).unwrap();
            assert!(kept.contains(&id), "{f}");
            assert!(f["errordescription"].as_str().unwrap().contains("the guard keeps"), "{f}");
            assert_eq!(f["regardingobjecttypecode"], "account");
            assert_eq!(f["errornumber"], 0x8004_0203u32 as i32);
        }

        // The operation is the server's: users read and remove it only.
        let m = e.srv.patch(&format!("bulkdeleteoperations({op_id})"), &json!({"name": "x"})).expect_error(400);
        assert!(m.contains("'name' attribute of 'bulkdeleteoperation' cannot be changed"), "{m}");
        let m = e.srv.patch(&format!("bulkdeleteoperations({op_id})"), &json!({"statecode": 0})).expect_error(400);
        assert!(m.contains("written by the BulkDelete action"), "{m}");
        let m = e.srv.post("bulkdeleteoperations", &json!({"name": "mine"})).expect_error(400);
        assert!(m.contains("cannot be created directly"), "{m}");
        e.srv.delete(&format!("bulkdeleteoperations({op_id})")).expect(204);
        assert_eq!(e.count(&format!("bulkdeletefailures?$filter=_bulkdeleteoperationid_value eq {op_id}")), 0);
    }
}

#[test]
fn a_bulk_delete_that_cannot_run_is_refused_by_name_and_writes_nothing() {
    for backend in backends() {
        let e = env(backend);
        let jobs_before = e.count("asyncoperations?$select=name");
        let good = || begins_with("account", "name", "zz-never");
        let cases: Vec<(Json, &str)> = vec![
            (json!({"JobName": "x"}), "BulkDelete needs the parameter 'QuerySet'"),
            (json!({"QuerySet": [good()]}), "BulkDelete needs the parameter 'JobName'"),
            (json!({"QuerySet": [], "JobName": "x"}), "QuerySet is empty"),
            (json!({"QuerySet": [good()], "JobName": "  "}), "JobName must not be empty"),
            (
                json!({"QuerySet": good(), "JobName": "x"}),
                "'QuerySet' of BulkDelete must be an array of QueryExpression",
            ),
            (json!({"QuerySet": [good()], "JobName": "x", "Hurry": true}), "'Hurry' is not a parameter of BulkDelete"),
            (json!({"QuerySet": [good()], "JobName": "x", "StartDateTime": "tomorrow"}), "must be a date and time"),
            (
                json!({"QuerySet": [good()], "JobName": "x", "RecurrencePattern": "FREQ=YEARLY"}),
                "FREQ=YEARLY is not supported",
            ),
            (json!({"QuerySet": [good()], "JobName": "x", "SendEmailNotification": true}), "does not send email"),
            (
                json!({"QuerySet": [{"EntityName": "nosuch"}], "JobName": "x"}),
                "QuerySet[0]: there is no entity 'nosuch'",
            ),
            (
                json!({"QuerySet": [good(), begins_with("account", "nosuchcolumn", "a")], "JobName": "x"}),
                "QuerySet[1]:",
            ),
            (
                json!({"QuerySet": [{"EntityName": "account", "LinkEntities": [{"LinkToEntityName": "contact"}]}], "JobName": "x"}),
                "LinkEntities are not supported",
            ),
            (
                json!({"QuerySet": [{"EntityName": "account", "TopCount": 5}], "JobName": "x"}),
                "TopCount does not apply",
            ),
            (
                json!({"QuerySet": [{"EntityName": "account", "Criteria": {"Conditions": [
                {"AttributeName": "revenue", "Operator": "Between", "Values": [1, 2]}]}}], "JobName": "x"}),
                "Between (on revenue) is not supported",
            ),
        ];
        for (body, wanted) in cases {
            let m = e.srv.post("BulkDelete", &body).expect_error(400);
            assert!(m.contains(wanted), "{backend}: {body} → {m}, wanted '{wanted}'");
        }
        let r = e.srv.send(
            e.srv
                .req(reqwest::Method::POST, "BulkDelete")
                .header("content-type", "application/json")
                .body("{\"QuerySet\": ["),
        );
        assert!(r.expect_error(400).contains("not valid JSON"));
        e.srv.get("BulkDelete").expect_error(405);
        assert_eq!(e.count("bulkdeleteoperations?$select=name"), 0, "no operation was recorded");
        assert_eq!(e.count("asyncoperations?$select=name"), jobs_before, "no job was queued");

        // The privilege: a salesperson may delete their own records one by
        // one, not in bulk.
        let sp = e.srv.new_user(&["Salesperson"]);
        let r = e
            .srv
            .send(e.srv.req_as(&sp.token, reqwest::Method::POST, "BulkDelete").json(&request(vec![good()], "mine")));
        assert!(r.expect_error(403).contains("prvBulkDelete"));

        // The catalog describes it in $metadata, and the CLI lists it.
        let csdl = e.srv.get("$metadata").expect(200).text();
        assert!(csdl.contains(r#"<Action Name="BulkDelete" IsBound="false"><Parameter Name="QuerySet" Type="Collection(mscrm.QueryExpression)" Nullable="false"/>"#), "{csdl}");
        assert!(csdl.contains(r#"<ActionImport Name="BulkDelete" Action="Microsoft.Dynamics.CRM.BulkDelete"/>"#));
        assert!(csdl.contains(r#"<ComplexType Name="BulkDeleteResponse"><Property Name="JobId" Type="Edm.Guid"/>"#));
        // And as Dataverse's Custom API tables.
        let apis = e.srv.get("customapis?$filter=uniquename eq 'BulkDelete'").expect(200).rows();
        assert_eq!(apis.len(), 1, "{apis:?}");
        assert_eq!(
            (
                &apis[0]["bindingtype"],
                &apis[0]["isfunction"],
                &apis[0]["executeprivilegename"],
                &apis[0]["relata_module"]
            ),
            (&json!(0), &json!(false), &json!("prvBulkDelete"), &json!("platform"))
        );
        let api = apis[0]["customapiid"].as_str().unwrap();
        let params =
            e.srv.get(&format!("customapirequestparameters?$filter=_customapiid_value eq {api}")).expect(200).rows();
        let param =
            |n: &str| params.iter().find(|p| p["name"] == n).unwrap_or_else(|| panic!("{n}: {params:?}")).clone();
        assert_eq!(param("JobName")["type"], 10);
        assert_eq!(param("JobName")["isoptional"], false);
        assert_eq!(param("QuerySet")["relata_typename"], "Collection(mscrm.QueryExpression)");
        assert!(param("QuerySet")["type"].is_null(), "Custom APIs have no code for a query");
        assert_eq!(param("RecurrencePattern")["isoptional"], true);
        let props =
            e.srv.get(&format!("customapiresponseproperties?$filter=_customapiid_value eq {api}")).expect(200).rows();
        assert_eq!((props.len(), &props[0]["name"], &props[0]["type"]), (1, &json!("JobId"), &json!(12)));
        let out = e.srv.cli(&["module", "list"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains("BulkDelete") && text.contains("prvBulkDelete"), "{text}");
    }
}

#[test]
fn a_recurring_bulk_delete_comes_round_each_day_until_canceled() {
    for backend in backends() {
        let e = env(backend);
        let tag = uid();
        let prefix = format!("stale {tag} ");
        for i in 0..3 {
            e.srv.create("accounts", &json!({"name": format!("{prefix}{i}")}));
        }
        let start = e.org.now() + Duration::hours(1);
        let mut body = request(vec![begins_with("account", "name", &prefix)], "Nightly clean-up");
        body["RecurrencePattern"] = json!("FREQ=DAILY;INTERVAL=1;");
        body["StartDateTime"] = json!(start.to_rfc3339_opts(SecondsFormat::Secs, true));
        let job = e.submit(&body);
        let op = e.operation(job);
        assert_eq!(state(&op), (1, 10), "waits for its start: {op}");
        assert_eq!(op["isrecurring"], true);
        assert!(op["nextrun"].is_string(), "{op}");
        assert_eq!(e.runner.run_due(10).unwrap().steps(), 0, "not due before its start");

        e.clock.advance(Duration::hours(2));
        assert_eq!(e.runner.run_due(10).unwrap().succeeded, 2, "the bulk delete and the statistics check");
        assert_eq!(e.accounts(&prefix), 0);
        let op = e.operation(job);
        assert_eq!(state(&op), (1, 10), "waits for tomorrow: {op}");
        assert_eq!(op["successcount"], 3);
        let next: chrono::DateTime<chrono::Utc> = op["nextrun"].as_str().unwrap().parse().unwrap();
        let wait = next - e.org.now();
        assert!(wait > Duration::hours(22) && wait <= Duration::hours(23), "next run in {wait}");

        for i in 3..5 {
            e.srv.create("accounts", &json!({"name": format!("{prefix}{i}")}));
        }
        e.clock.advance(Duration::days(1));
        e.runner.run_due(10).unwrap();
        assert_eq!(e.accounts(&prefix), 0, "the next day's records go the next day");
        assert_eq!(e.operation(job)["successcount"], 5, "counts add up over the runs");

        // Canceled, it stops coming round; then it can be removed.
        e.srv.patch(&format!("asyncoperations({job})"), &json!({"statecode": 3, "statuscode": 32})).expect(204);
        let op = e.operation(job);
        assert_eq!(state(&op), (3, 32), "{op}");
        assert!(op["nextrun"].is_null(), "{op}");
        e.srv.create("accounts", &json!({"name": format!("{prefix}late")}));
        e.clock.advance(Duration::days(2));
        e.runner.run_due(10).unwrap();
        assert_eq!(e.accounts(&prefix), 1, "a canceled bulk delete deletes nothing more");
        let op_id = op["bulkdeleteoperationid"].as_str().unwrap().to_string();
        e.srv.delete(&format!("bulkdeleteoperations({op_id})")).expect(204);
    }
}

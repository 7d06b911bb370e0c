//! Dataverse's `BulkDelete`: a set of queries, a job name, an optional start
//! time and recurrence. The action checks the queries and records a
//! `bulkdeleteoperation`; a system job deletes the matching records as the
//! user who asked, a batch per step, each record in its own savepoint, so
//! a record that cannot be deleted is counted (and described in a
//! `bulkdeletefailure`) while the others go. A recurring bulk delete runs
//! the same queries again at each occurrence; its counts add up.

use chrono::{DateTime, Utc};
use relata_metadata::{EntityRef, Value};
use relata_query::fetchxml;
use relata_query::options::parse_query_options;
use relata_query::query_expression;
use relata_store::{Param, Storage, Tx};
use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::jobs::{operation, state, status, JobContext, JobKind, JobState, JobStep, NewJob};
use crate::modules::{Action, ActionRequest, ActionResponse, Message, ParamType, StepContext};
use crate::session::Session;

/// Records deleted per step (one transaction).
const BATCH: usize = 100;
/// Most queries in one request.
const MAX_QUERIES: usize = 100;
/// Failures described one by one; beyond this they are only counted.
const MAX_FAILURE_RECORDS: i64 = 10_000;

const KIND: &str = "platform.bulkdelete";

pub(crate) fn action() -> Action {
    Action::new("BulkDelete", submit)
        .describe("Submits a bulk delete job that deletes the records the queries select, in the background.")
        .privilege("prvBulkDelete")
        .param("QuerySet", ParamType::ComplexCollection("QueryExpression"))
        .param("JobName", ParamType::String)
        .optional("SendEmailNotification", ParamType::Boolean)
        .optional("ToRecipients", ParamType::EntityCollection("activityparty"))
        .optional("CCRecipients", ParamType::EntityCollection("activityparty"))
        .optional("RecurrencePattern", ParamType::String)
        .optional("StartDateTime", ParamType::DateTime)
        .optional("SourceImportId", ParamType::Guid)
        .optional("RunNow", ParamType::Boolean)
        .returns("JobId", ParamType::Guid)
}

pub(crate) fn kind() -> JobKind {
    JobKind::new("bulkdelete", operation::BULK_DELETE, run).on_state(mirror_state)
}

/// Users read and delete bulk delete records; the server writes them.
pub(crate) fn check_change(_: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    match ctx.message {
        Message::Create | Message::Update => Err(EngineError::Invalid(format!(
            "{} records are written by the BulkDelete action and its system job; they cannot be {} directly",
            ctx.entity.name(),
            if ctx.is_create() { "created" } else { "changed" }
        ))),
        Message::Delete if ctx.entity.name() == "bulkdeleteoperation" => {
            let completed =
                ctx.pre_image.and_then(|p| p.get("statecode")).and_then(Value::as_i64) == Some(state::COMPLETED);
            if completed {
                Ok(())
            } else {
                Err(EngineError::Invalid(
                    "Only a completed bulk delete can be deleted; cancel its system job first.".into(),
                ))
            }
        }
        _ => Ok(()),
    }
}

/// One query of the set, as the job keeps it.
struct Query {
    entity: String,
    /// The OData `$filter` text; `None` selects every record.
    filter: Option<String>,
}

fn submit(s: &mut Session<'_, '_, '_>, req: &ActionRequest<'_>) -> Result<ActionResponse> {
    let set = req.json("QuerySet").and_then(Json::as_array).cloned().unwrap_or_default();
    if set.is_empty() {
        return Err(EngineError::Invalid("QuerySet is empty: give at least one query".into()));
    }
    if set.len() > MAX_QUERIES {
        return Err(EngineError::Invalid(format!(
            "QuerySet has {} queries; at most {MAX_QUERIES} are taken",
            set.len()
        )));
    }
    let name = req.string("JobName").unwrap_or_default().trim().to_string();
    if name.is_empty() {
        return Err(EngineError::Invalid("JobName must not be empty".into()));
    }
    if req.bool("SendEmailNotification") == Some(true) {
        return Err(EngineError::Invalid(
            "SendEmailNotification: this server does not send email yet; pass false and follow the job in System Jobs"
                .into(),
        ));
    }
    let mut queries = Vec::new();
    let mut xml = String::new();
    for (i, q) in set.iter().enumerate() {
        let at = |m: String| EngineError::Invalid(format!("QuerySet[{i}]: {m}"));
        if q.get("TopCount").is_some_and(|t| !t.is_null()) {
            return Err(at(
                "TopCount does not apply to a bulk delete: every record the query selects is deleted".into()
            ));
        }
        let t = query_expression::to_fetchxml(q).map_err(|e| at(e.0))?;
        let entity = s.entity(&t.entity).map_err(|_| at(format!("there is no entity '{}'", t.entity)))?;
        if entity.def.is_intersect {
            return Err(at(format!("'{}' links records; remove the links from either side instead", t.entity)));
        }
        let fq = fetchxml::parse_in(&t.fetchxml, &s.schema).map_err(|e| at(e.0))?;
        let query = Query { entity: t.entity.clone(), filter: fq.filter };
        // Reading the query once checks its columns and the caller's
        // rights now, not when the job runs.
        let opts = parse_query_options(&odata(&query, None, None)).map_err(|e| at(e.to_string()))?;
        s.count(&query.entity, &opts, None).map_err(|e| at(e.to_string()))?;
        xml.push_str(&t.fetchxml);
        xml.push('\n');
        queries.push(json!({"entity": query.entity, "filter": query.filter}));
    }
    let recurrence = req.string("RecurrencePattern").map(str::trim).filter(|p| !p.is_empty()).map(str::to_string);
    let due = req.datetime("StartDateTime").unwrap_or(s.now);
    let operation_id = Uuid::now_v7();
    let mut job = NewJob::new(
        KIND,
        name.clone(),
        json!({"operation": operation_id, "queries": queries, "index": 0, "after": null, "deleted": 0, "failed": 0}),
    );
    job.due = Some(due);
    job.recurrence = recurrence.clone();
    let job_id = s.enqueue(job)?;

    let user = s.principal.user_id;
    let owner = EntityRef { entity: "systemuser".into(), id: user };
    let bu = s.business_unit_of(&owner)?;
    let waiting = due > s.now;
    let mut fields = vec![
        ("name", Value::String(name)),
        ("asyncoperationid", Value::Ref(EntityRef { entity: "asyncoperation".into(), id: job_id })),
        ("successcount", Value::Int(0)),
        ("failurecount", Value::Int(0)),
        ("isrecurring", Value::Bool(recurrence.is_some())),
        ("orderedquerysetxml", Value::String(xml)),
        ("processingqeindex", Value::Int(0)),
        ("statecode", Value::Int(if waiting { state::SUSPENDED } else { state::READY })),
        ("statuscode", Value::Int(if waiting { status::WAITING } else { status::WAITING_FOR_RESOURCES })),
        ("ownerid", Value::Ref(owner)),
        ("owningbusinessunit", Value::Ref(EntityRef { entity: "businessunit".into(), id: bu })),
    ];
    if recurrence.is_some() || waiting {
        fields.push(("nextrun", Value::DateTime(due)));
    }
    let schema = s.schema.clone();
    crate::seed::insert_at(s.tx, &schema, "bulkdeleteoperation", operation_id, user, s.now, fields)?;
    Ok(ActionResponse::property("JobId", Json::String(job_id.to_string())))
}

/// The OData options that select the next batch of a query: its filter,
/// after the last id seen (keyset order, so a record that failed is not
/// selected again), by primary key.
fn odata(q: &Query, pk: Option<&str>, after: Option<Uuid>) -> String {
    let mut terms: Vec<String> = Vec::new();
    if let Some(f) = &q.filter {
        terms.push(format!("({f})"));
    }
    if let (Some(pk), Some(after)) = (pk, after) {
        terms.push(format!("{pk} gt {after}"));
    }
    let mut text = match pk {
        Some(pk) => format!("$select={pk}&$orderby={pk} asc&$top={BATCH}"),
        None => String::new(),
    };
    if !terms.is_empty() {
        // The filter is query text already: FetchXML's literals are encoded.
        text.push_str(&format!("&$filter={}", terms.join(" and ")));
    }
    text
}

/// One step: deletes up to [`BATCH`] records of the current query.
fn run(s: &mut Session<'_, '_, '_>, job: &mut JobContext) -> Result<JobStep> {
    let bad = || EngineError::Invalid("the bulk delete job's data is damaged".into());
    let data = job.data.as_object_mut().ok_or_else(bad)?;
    let operation_id =
        data.get("operation").and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(bad)?;
    let queries: Vec<Query> = data
        .get("queries")
        .and_then(Json::as_array)
        .ok_or_else(bad)?
        .iter()
        .map(|q| Query {
            entity: q.get("entity").and_then(Json::as_str).unwrap_or_default().to_string(),
            filter: q.get("filter").and_then(Json::as_str).map(str::to_string),
        })
        .collect();
    let int = |d: &Map<String, Json>, k: &str| d.get(k).and_then(Json::as_i64).unwrap_or(0);
    let index = int(data, "index").max(0) as usize;
    let after = data.get("after").and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok());
    let (mut deleted, mut failed) = (0i64, 0i64);
    let mut next = (index, after);
    if let Some(q) = queries.get(index) {
        let entity = s.entity(&q.entity)?;
        let pk = entity.primary_id().to_string();
        let opts = parse_query_options(&odata(q, Some(&pk), after))
            .map_err(|e| EngineError::Invalid(format!("query {index} of the bulk delete: {e}")))?;
        let page = s.query(&q.entity, &opts, Some(BATCH), None)?;
        let (mut described, failures_so_far) = (0i64, failure_count(s.tx, operation_id)?);
        for rec in &page.records {
            match s.savepoint(|s| s.delete(&q.entity, rec.id, None)) {
                Ok(()) => deleted += 1,
                Err(e) => {
                    failed += 1;
                    if failures_so_far + described < MAX_FAILURE_RECORDS {
                        described += 1;
                        record_failure(s, job.id, operation_id, index, &q.entity, rec.id, &e)?;
                    }
                }
            }
        }
        next = match page.records.last() {
            Some(last) if page.records.len() >= BATCH => (index, Some(last.id)),
            _ => (index + 1, None),
        };
    }
    let done = next.0 >= queries.len();
    let run_deleted = int(data, "deleted") + deleted;
    let run_failed = int(data, "failed") + failed;
    if done && job.next_run.is_some() {
        // A recurring job starts over at its next occurrence.
        data.insert("index".into(), json!(0));
        data.insert("after".into(), Json::Null);
        data.insert("deleted".into(), json!(0));
        data.insert("failed".into(), json!(0));
    } else {
        data.insert("index".into(), json!(next.0));
        data.insert("after".into(), next.1.map(|u| json!(u)).unwrap_or(Json::Null));
        data.insert("deleted".into(), json!(run_deleted));
        data.insert("failed".into(), json!(run_failed));
    }
    let version = s.tx.next_counter("rowversion")?;
    s.tx.execute(
        "UPDATE bulkdeleteoperation SET successcount = COALESCE(successcount, 0) + $1,
            failurecount = COALESCE(failurecount, 0) + $2, processingqeindex = $3,
            statecode = 2, statuscode = 20, modifiedon = $4, versionnumber = $5
         WHERE bulkdeleteoperationid = $6",
        &[
            Param::int(deleted),
            Param::int(failed),
            Param::int(next.0.min(queries.len().saturating_sub(1)) as i64),
            ts(job.now),
            Param::bigint(version),
            Param::uuid(operation_id),
        ],
    )?;
    if !done {
        return Ok(JobStep::Continue);
    }
    Ok(JobStep::Done(Some(match run_failed {
        0 => format!("Deleted {run_deleted} records."),
        n => format!("Deleted {run_deleted} records; {n} could not be deleted (see Bulk Delete Failures)."),
    })))
}

fn failure_count(tx: &mut Tx<'_>, operation_id: Uuid) -> Result<i64> {
    let row = tx.query_one(
        "SELECT COUNT(*) FROM bulkdeletefailure WHERE bulkdeleteoperationid = $1",
        &[Param::uuid(operation_id)],
        &[Storage::BigInt],
    )?;
    Ok(row.and_then(|r| r[0].as_i64()).unwrap_or(0))
}

fn record_failure(
    s: &mut Session<'_, '_, '_>,
    job: Uuid,
    operation_id: Uuid,
    index: usize,
    entity: &str,
    id: Uuid,
    e: &EngineError,
) -> Result<()> {
    let user = s.principal.user_id;
    let owner = EntityRef { entity: "systemuser".into(), id: user };
    let bu = s.business_unit_of(&owner)?;
    let description: String = e.to_string().chars().take(4000).collect();
    let schema = s.schema.clone();
    crate::seed::insert_at(
        s.tx,
        &schema,
        "bulkdeletefailure",
        Uuid::now_v7(),
        user,
        s.now,
        vec![
            ("errordescription", Value::String(description)),
            ("errornumber", Value::Int(e.code() as i32 as i64)),
            ("bulkdeleteoperationid", Value::Ref(EntityRef { entity: "bulkdeleteoperation".into(), id: operation_id })),
            ("asyncoperationid", Value::Ref(EntityRef { entity: "asyncoperation".into(), id: job })),
            ("regardingobjecttypecode", Value::String(entity.to_string())),
            ("relata_regardingid", Value::Uuid(id)),
            ("orderedqueryindex", Value::Int(index as i64)),
            ("ownerid", Value::Ref(owner)),
            ("owningbusinessunit", Value::Ref(EntityRef { entity: "businessunit".into(), id: bu })),
        ],
    )
}

/// Keeps the operation's state and next run equal to its job's.
fn mirror_state(tx: &mut Tx<'_>, j: &JobState) -> Result<()> {
    let version = tx.next_counter("rowversion")?;
    let next_run: Option<DateTime<Utc>> = if j.statecode == state::SUSPENDED { j.due } else { None };
    tx.execute(
        "UPDATE bulkdeleteoperation SET statecode = $1, statuscode = $2, nextrun = $3, modifiedon = $4,
            versionnumber = $5
         WHERE asyncoperationid = $6",
        &[
            Param::int(j.statecode),
            Param::int(j.statuscode),
            Param::new(next_run.map(Value::DateTime).unwrap_or(Value::Null), Storage::Timestamp),
            ts(j.now),
            Param::bigint(version),
            Param::uuid(j.job),
        ],
    )?;
    Ok(())
}

fn ts(t: DateTime<Utc>) -> Param {
    Param::new(Value::DateTime(t), Storage::Timestamp)
}

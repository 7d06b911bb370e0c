//! Importing an uploaded file: 1C's `mode=import` starts a background job
//! and is answered `progress` until the job ends, so no call waits on a
//! long import (1C repeats the same call; a proxy never times out). The
//! job works in short steps (at most [`BATCH`] items or [`STEP_TIME`]),
//! one transaction each, keeping its place and tally in the job's data;
//! every item is an upsert, so a step run again after a crash changes
//! nothing twice. An item the sales
//! rules refuse (a name too long, a unit in the wrong group) is skipped
//! with a warning in the log rather than failing the package.

use std::sync::Arc;

use parking_lot::Mutex;
use relata_metadata::{EntityRef, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::catalog::{self, quote, Tally};
use super::{batch, results, uploads};
use crate::error::{EngineError, Result};
use crate::jobs::{state, status, JobContext, JobStep, NewJob};
use crate::session::{RecordInput, Session};

pub(super) const JOB: &str = "import";
/// A step ends after this many items or this long, whichever comes
/// first: it holds SQLite's single writer, and other users' saves wait.
const BATCH: usize = 200;
const STEP_TIME: std::time::Duration = std::time::Duration::from_millis(40);

/// The last file parsed, by job: a job's steps run one after another,
/// usually in one process, and parsing a big file for each short step
/// (inside the step's transaction) would cost more than the items.
static PARSED: Mutex<Option<(Uuid, Arc<Vec<catalog::Item>>)>> = Mutex::new(None);

fn items_of(s: &mut Session<'_, '_, '_>, job: Uuid, p: &Progress) -> Result<Arc<Vec<catalog::Item>>> {
    if let Some((id, items)) = PARSED.lock().as_ref() {
        if *id == job {
            return Ok(items.clone());
        }
    }
    let bytes = uploads::read(s, p.node, &p.file)?;
    parse(job, p, bytes)
}

fn parse(job: Uuid, p: &Progress, bytes: Option<Vec<u8>>) -> Result<Arc<Vec<catalog::Item>>> {
    let bytes = bytes
        .ok_or_else(|| EngineError::Invalid(format!("the file '{}' was removed before it was imported", p.file)))?;
    let package = relata_commerceml::read(&bytes)
        .map_err(|e| EngineError::Invalid(format!("'{}' is not a CommerceML document: {e}", p.file)))?;
    let items = Arc::new(catalog::items(package));
    *PARSED.lock() = Some((job, items.clone()));
    Ok(items)
}

/// Before a step: reads and parses the file in a read transaction, so
/// the step's write transaction finds it parsed (see `JobKind::prepare`).
pub(super) fn prepare(org: &crate::org::Org, job: Uuid, data: &serde_json::Value) {
    if PARSED.lock().as_ref().is_some_and(|(id, _)| *id == job) {
        return;
    }
    let Ok(p) = serde_json::from_value::<Progress>(data.clone()) else { return };
    let system = org.system_principal();
    let bytes = org.db().read(|tx| {
        let mut s = Session::new(org, tx, &system, org.schema());
        uploads::read(&mut s, p.node, &p.file)
    });
    // Errors are the step's to report, inside its transaction.
    if let Ok(bytes) = bytes {
        let _ = parse(job, &p, bytes);
    }
}

/// `relata_exchangelog.relata_result`.
pub(super) mod result {
    pub const IN_PROGRESS: i64 = 1;
    pub const SUCCEEDED: i64 = 2;
    pub const FAILED: i64 = 3;
    pub const DRY_RUN: i64 = 5;
}

/// The most items a dry run takes: it runs in one transaction, holding
/// the writer (SQLite) until it ends.
const DRY_RUN_LIMIT: usize = 20_000;

/// A running import's place, kept in its job's data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Progress {
    pub node: Uuid,
    pub file: String,
    pub log: Uuid,
    #[serde(default)]
    pub cursor: usize,
    #[serde(default)]
    pub total: usize,
    #[serde(default)]
    pub tally: Tally,
    /// Report what the file would change, write nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an import call answers.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Answer {
    Progress(String),
    Success(String),
    Failure(String),
}

/// One step of the import job.
pub(super) fn step(s: &mut Session<'_, '_, '_>, ctx: &mut JobContext) -> Result<JobStep> {
    let mut p: Progress = serde_json::from_value(ctx.data.clone())
        .map_err(|e| EngineError::Invalid(format!("the import job's data is not readable: {e}")))?;
    let items = items_of(s, ctx.id, &p)?;
    p.total = items.len();
    let mut cx = catalog::Step::new(p.node);
    let mut rows = Vec::new();
    if p.dry_run {
        if p.total > DRY_RUN_LIMIT {
            return Err(EngineError::Invalid(format!(
                "a dry run takes at most {DRY_RUN_LIMIT} items and '{}' has {}; import it for real, or split it",
                p.file, p.total
            )));
        }
        // The whole file in one savepoint that is rolled back: later
        // items see what earlier ones would have made.
        let all: Vec<&catalog::Item> = items.iter().collect();
        let mut tally = p.tally.clone();
        s.rolled_back(|s| apply_one_by_one(s, &mut cx, &all, &mut tally, &mut rows))?;
        p.tally = tally;
        p.cursor = p.total;
    } else {
        let batch: Vec<&catalog::Item> = items.iter().skip(p.cursor).take(BATCH).collect();
        let done = match apply_together(s, &mut cx, &batch, &mut p.tally, &mut rows)? {
            Together::Applied(n) => n,
            Together::Refused(k) => {
                cx.clear();
                cx.resolved = 0;
                rows.clear();
                apply_one_by_one(s, &mut cx, &batch[..=k], &mut p.tally, &mut rows)?;
                k + 1
            }
        };
        p.cursor += done;
    }
    p.tally.resolved += cx.resolved;
    s.as_system(|s| results::append(s, p.node, p.log, &rows))?;
    if p.cursor < p.total {
        ctx.data = serde_json::to_value(&p).map_err(|e| EngineError::Invalid(e.to_string()))?;
        return Ok(JobStep::Continue);
    }
    *PARSED.lock() = None;
    s.as_system(|s| results::attach(s, p.node, p.log))?;
    if p.dry_run {
        let summary = format!("dry run, nothing was written: {} would give {}", p.file, p.tally.summary());
        log_result(s, p.log, result::DRY_RUN, &summary)?;
        uploads::remove(s, p.node, &p.file)?;
        ctx.data = serde_json::to_value(&p).map_err(|e| EngineError::Invalid(e.to_string()))?;
        return Ok(JobStep::Done(Some(summary)));
    }
    let summary = format!("{}: {}", p.file, p.tally.summary());
    log_result(s, p.log, result::SUCCEEDED, &summary)?;
    let seen = catalog::seen_ids(&items);
    if !seen.is_empty() {
        let f = [("relata_seenids".to_string(), Value::Bytes(seen.join("\n").into_bytes()))];
        s.system_update("relata_exchangelog", p.log, f.into_iter().collect())?;
    }
    uploads::remove(s, p.node, &p.file)?;
    uploads::touch_node(s, p.node, "relata_lastimporton")?;
    ctx.data = serde_json::to_value(&p).map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok(JobStep::Done(Some(summary)))
}

/// How applying a step's items together went.
enum Together {
    /// This many items, all applied.
    Applied(usize),
    /// The item at this index was refused; nothing was written.
    Refused(usize),
}

/// Applies a step's items in one savepoint, until [`STEP_TIME`] is up.
/// One savepoint per item would make SQLite copy every page each item
/// touches into its statement journal once more; refusals are rare, so
/// when one comes the whole step is undone and redone one by one.
fn apply_together(
    s: &mut Session<'_, '_, '_>,
    cx: &mut catalog::Step,
    batch: &[&catalog::Item],
    tally: &mut Tally,
    rows: &mut Vec<results::Row>,
) -> Result<Together> {
    let mut done = 0;
    let mut flushing = false;
    let mut kept = tally.clone();
    cx.deferred = Some(Default::default());
    let outcome = s.savepoint(|s| {
        batch::read_ahead(s, cx, batch)?;
        // The time the items take, not the read ahead: a step that read
        // ahead for all its items applies more than one.
        let started = std::time::Instant::now();
        for item in batch {
            if done > 0 && started.elapsed() > STEP_TIME {
                break;
            }
            let before = kept.clone();
            catalog::apply(s, cx, item, &mut kept)?;
            rows.push(results::Row::of(item, &before, &kept));
            done += 1;
        }
        flushing = true;
        batch::flush(s, cx)
    });
    cx.deferred = None;
    match outcome {
        Ok(()) => {
            *tally = kept;
            Ok(Together::Applied(done))
        }
        // The database's own trouble fails the step (and the job says why).
        Err(e @ EngineError::Store(_)) => Err(e),
        // Held writes refused at the end: any of the items may be the one.
        Err(_) if flushing => Ok(Together::Refused(done.saturating_sub(1))),
        Err(_) => Ok(Together::Refused(done)),
    }
}

/// Applies items one savepoint each: a refused item is skipped with a
/// warning in the log and does not fail the package.
fn apply_one_by_one(
    s: &mut Session<'_, '_, '_>,
    cx: &mut catalog::Step,
    batch: &[&catalog::Item],
    tally: &mut Tally,
    rows: &mut Vec<results::Row>,
) -> Result<()> {
    for item in batch {
        let mut kept = tally.clone();
        let resolved = cx.resolved;
        match s.savepoint(|s| catalog::apply(s, cx, item, &mut kept)) {
            Ok(()) => {
                rows.push(results::Row::of(item, tally, &kept));
                *tally = kept;
            }
            Err(e @ EngineError::Store(_)) => return Err(e),
            Err(e) => {
                cx.clear();
                cx.resolved = resolved;
                rows.push(results::Row::error(item, &e.to_string()));
                tally.warn(format!("{}: {e}", describe(item)));
            }
        }
    }
    Ok(())
}

fn describe(item: &catalog::Item) -> String {
    format!("{} '{}' ({})", item.kind(), item.name(), item.id())
}

fn log_result(s: &mut Session<'_, '_, '_>, log: Uuid, result: i64, message: &str) -> Result<()> {
    let changes = [
        ("relata_result".to_string(), Value::Int(result)),
        ("relata_message".to_string(), Value::String(message.chars().take(100_000).collect())),
    ];
    s.system_update("relata_exchangelog", log, changes.into_iter().collect())
}

/// `mode=import&filename=…`: starts the file's import, or tells how the
/// one started is going. Runs as the system (the bookkeeping of the
/// exchange); the job runs as `user`.
pub(super) fn import_call(s: &mut Session<'_, '_, '_>, node: Uuid, user: Uuid, file: &str) -> Result<Answer> {
    let uploaded = match uploads::uploaded_on(s, node, file)? {
        Some(t) => Some(t),
        // An archive is unpacked on the first import that names a file in it.
        None if !uploads::unpack_archives(s, node)?.is_empty() => uploads::uploaded_on(s, node, file)?,
        None => None,
    };
    let last = s.query_system(
        "relata_exchangelog",
        &format!(
            "$select=relata_exchangelogid,relata_result,relata_message,relata_asyncoperationid,createdon\
             &$filter=_relata_exchangenodeid_value eq {node} and relata_filename eq {}&$orderby=createdon desc&$top=1",
            quote(file)
        ),
    )?;
    let last = last.into_iter().next();
    let started_after_upload = match (&last, uploaded) {
        (Some(l), Some(up)) => l.get("createdon").and_then(Value::as_datetime).is_some_and(|c| c >= up),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if let (Some(log), true) = (&last, started_after_upload) {
        return progress_of(s, log);
    }
    if uploaded.is_none() {
        return Ok(Answer::Failure(format!("the file '{file}' was not uploaded")));
    }
    let log = start_log(s, node, file)?;
    let dry_run = s
        .read_system("relata_exchangenode", node)?
        .and_then(|n| n.get("relata_dryrun").and_then(Value::as_bool))
        .unwrap_or(false);
    let data = serde_json::to_value(Progress { node, file: file.to_string(), log, dry_run, ..Progress::default() })
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    let mut job = NewJob::new(format!("exchange1c.{JOB}"), format!("1C import: {file}"), data);
    job.owner = Some(user);
    job.regarding = Some(EntityRef { entity: "relata_exchangenode".into(), id: node });
    let id = s.enqueue(job)?;
    s.system_update("relata_exchangelog", log, [("relata_asyncoperationid".to_string(), Value::Uuid(id))].into())?;
    Ok(Answer::Progress(format!("the import of {file} has started")))
}

/// A new log entry for an import starting.
pub(super) fn start_log(s: &mut Session<'_, '_, '_>, node: Uuid, file: &str) -> Result<Uuid> {
    s.create(
        "relata_exchangelog",
        RecordInput::new(vec![
            ("relata_name".into(), Value::String(format!("Import of {file}").chars().take(400).collect())),
            ("relata_exchangenodeid".into(), Value::Ref(EntityRef { entity: "relata_exchangenode".into(), id: node })),
            ("relata_filename".into(), Value::String(file.chars().take(400).collect())),
            ("relata_result".into(), Value::Int(result::IN_PROGRESS)),
        ]),
    )
}

/// Marks an import failed, with why.
pub(super) fn fail_log(s: &mut Session<'_, '_, '_>, log: Uuid, why: &str) -> Result<()> {
    log_result(s, log, result::FAILED, why)
}

/// How the import a log entry records is going.
fn progress_of(s: &mut Session<'_, '_, '_>, log: &crate::session::Fields) -> Result<Answer> {
    let text = |k: &str| log.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match log.get("relata_result").and_then(Value::as_i64) {
        Some(result::SUCCEEDED) => return Ok(Answer::Success(text("relata_message"))),
        Some(result::FAILED) => return Ok(Answer::Failure(text("relata_message"))),
        // 1C hears a failure, so that it keeps its changes for the real
        // exchange.
        Some(result::DRY_RUN) => return Ok(Answer::Failure(text("relata_message"))),
        _ => {}
    }
    let log_id = log.get("relata_exchangelogid").and_then(Value::as_uuid).unwrap_or_default();
    let Some(job_id) = log.get("relata_asyncoperationid").and_then(Value::as_uuid) else {
        return Ok(Answer::Failure("the import was never started".into()));
    };
    let job = s.read_system("asyncoperation", job_id)?.unwrap_or_default();
    let statecode = job.get("statecode").and_then(Value::as_i64);
    let statuscode = job.get("statuscode").and_then(Value::as_i64);
    let message = job.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    if statecode == Some(state::COMPLETED) && statuscode != Some(status::SUCCEEDED) {
        let why = if message.is_empty() { "the import was canceled".to_string() } else { message };
        log_result(s, log_id, result::FAILED, &why)?;
        return Ok(Answer::Failure(why));
    }
    let data: Option<Progress> = job.get("data").and_then(Value::as_str).and_then(|d| serde_json::from_str(d).ok());
    Ok(Answer::Progress(match data {
        Some(p) if p.total > 0 => format!("{}: {} of {} items imported", p.file, p.cursor, p.total),
        Some(p) => format!("{}: the import is queued", p.file),
        None => "the import is queued".into(),
    }))
}

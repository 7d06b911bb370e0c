//! Importing an uploaded file: 1C's `mode=import` starts a background job
//! and is answered `progress` until the job ends, so no call waits on a
//! long import (1C repeats the same call; a proxy never times out). The
//! job works in short steps (at most [`BATCH`] items or [`STEP_TIME`]),
//! one transaction each, keeping its place and tally in the job's data;
//! every item is an upsert, so a step run again after a crash changes
//! nothing twice. An item the sales
//! rules refuse (a name too long, a unit in the wrong group) is skipped
//! with a warning in the log rather than failing the package.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufReader, Seek};

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

/// An import's file being read: its parts copied to a temporary file and
/// parsed as a stream, a step's worth of items ahead. Memory holds those
/// items, whatever the file's size.
struct Reading {
    job: Uuid,
    entries: relata_commerceml::Entries<BufReader<File>>,
    /// Items read and not yet applied; the first is item number `at`.
    ahead: VecDeque<catalog::Item>,
    at: usize,
    /// Counterparties already given, each once per file.
    parties: HashSet<String>,
    /// The Ид of the families, products and variants passed so far.
    seen: Vec<String>,
    ended: bool,
    size: u64,
    /// A 2.x catalog not marked as changes only: the file is all of it.
    full_catalog: bool,
}

/// The files being read, by job. A job's steps run one after another,
/// usually in one process; reading the file from its start for each step
/// would cost more than the items. A few are kept, for imports running
/// side by side.
static READING: Mutex<Vec<Reading>> = Mutex::new(Vec::new());
const KEPT_READINGS: usize = 4;

impl Reading {
    /// Copies the file's parts out of the database and starts reading.
    fn open(s: &mut Session<'_, '_, '_>, job: Uuid, p: &Progress) -> Result<Reading> {
        let spill = |e: std::io::Error| EngineError::Invalid(format!("'{}' could not be read: {e}", p.file));
        let mut file = tempfile::tempfile().map_err(spill)?;
        let size = uploads::copy_to(s, p.node, &p.file, &mut file)?
            .ok_or_else(|| EngineError::Invalid(format!("the file '{}' was removed before it was imported", p.file)))?;
        file.rewind().map_err(spill)?;
        let entries = relata_commerceml::entries(BufReader::new(file)).map_err(|e| unreadable(&p.file, e))?;
        Ok(Reading {
            job,
            entries,
            ahead: VecDeque::new(),
            at: 0,
            parties: HashSet::new(),
            seen: Vec::new(),
            ended: false,
            size,
            full_catalog: false,
        })
    }

    /// The reading of job `job` at item `cursor`: the one kept if it has
    /// not gone past it, else the file read anew.
    fn at(s: &mut Session<'_, '_, '_>, job: Uuid, p: &Progress) -> Result<Reading> {
        let kept = {
            let mut kept = READING.lock();
            kept.iter().position(|r| r.job == job).map(|i| kept.remove(i))
        };
        let mut reading = match kept {
            Some(r) if r.at <= p.cursor => r,
            // A step that was not committed: its items come again.
            _ => Reading::open(s, job, p)?,
        };
        while reading.at < p.cursor {
            reading.fill(1, &p.file)?;
            if reading.ahead.is_empty() {
                break;
            }
            reading.consume(1);
        }
        Ok(reading)
    }

    /// Reads until `n` items are ahead or the file ends.
    fn fill(&mut self, n: usize, file: &str) -> Result<()> {
        while self.ahead.len() < n && !self.ended {
            match self.entries.next() {
                None => self.ended = true,
                Some(Err(e)) => return Err(unreadable(file, e)),
                Some(Ok(entry)) => {
                    if let relata_commerceml::Entry::Catalog(c) = &entry {
                        // 3.x sends parts and says "full" with deactivate.
                        self.full_catalog |= !c.only_changes && self.entries.schema_version().starts_with('2');
                    }
                    catalog::items_of(entry, &mut self.parties, &mut self.ahead)
                }
            }
        }
        Ok(())
    }

    /// The first `n` items are applied.
    fn consume(&mut self, n: usize) {
        for item in self.ahead.drain(..n.min(self.ahead.len())) {
            self.seen.extend(catalog::seen_id(&item).map(str::to_owned));
            self.at += 1;
        }
    }

    fn finished(&self) -> bool {
        self.ended && self.ahead.is_empty()
    }

    /// Keeps the reading for the job's next step.
    fn keep(self) {
        let mut kept = READING.lock();
        if kept.len() >= KEPT_READINGS {
            kept.remove(0);
        }
        kept.push(self);
    }
}

fn unreadable(file: &str, e: relata_commerceml::Error) -> EngineError {
    EngineError::Invalid(format!("'{file}' is not a CommerceML document: {e}"))
}

/// How many items a step wants read ahead.
fn wanted(p: &Progress) -> usize {
    if p.dry_run {
        DRY_RUN_LIMIT + 1
    } else {
        BATCH
    }
}

/// Before a step: copies and parses the step's items in a read
/// transaction, so the step's write transaction finds them read (see
/// `JobKind::prepare`).
pub(super) fn prepare(org: &crate::org::Org, job: Uuid, data: &serde_json::Value) {
    let Ok(p) = serde_json::from_value::<Progress>(data.clone()) else { return };
    let system = org.system_principal();
    let reading = org.db().read(|tx| {
        let mut s = Session::new(org, tx, &system, org.schema());
        let mut reading = Reading::at(&mut s, job, &p)?;
        reading.fill(wanted(&p), &p.file)?;
        Ok::<_, EngineError>(reading)
    });
    // Errors are the step's to report, inside its transaction.
    if let Ok(reading) = reading {
        reading.keep();
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
    /// The items, once the whole file is read.
    #[serde(default)]
    pub total: usize,
    /// Bytes of the file read so far, and its size.
    #[serde(default)]
    pub read: u64,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub tally: Tally,
    /// When the exchange that uploaded the file started (1C's `init`);
    /// `None` for a file imported on its own.
    #[serde(default)]
    pub session_start: Option<chrono::DateTime<chrono::Utc>>,
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
    let mut reading = Reading::at(s, ctx.id, &p)?;
    reading.fill(wanted(&p), &p.file)?;
    let mut cx = catalog::Step::new(p.node);
    let mut rows = Vec::new();
    if p.dry_run {
        if reading.ahead.len() > DRY_RUN_LIMIT {
            return Err(EngineError::Invalid(format!(
                "a dry run takes at most {DRY_RUN_LIMIT} items and '{}' has more; import it for real, or split it",
                p.file
            )));
        }
        // The whole file in one savepoint that is rolled back: later
        // items see what earlier ones would have made.
        let all: Vec<&catalog::Item> = reading.ahead.iter().collect();
        let mut tally = p.tally.clone();
        s.rolled_back(|s| apply_one_by_one(s, &mut cx, &all, &mut tally, &mut rows))?;
        p.tally = tally;
        let n = reading.ahead.len();
        reading.consume(n);
    } else {
        let batch: Vec<&catalog::Item> = reading.ahead.iter().take(BATCH).collect();
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
        reading.consume(done);
    }
    p.cursor = reading.at;
    p.read = reading.entries.bytes_read();
    p.size = reading.size;
    p.tally.resolved += cx.resolved;
    s.as_system(|s| results::append(s, p.node, p.log, &rows))?;
    if !reading.finished() {
        // Read the next step's items now, outside its transaction, when no
        // `prepare` runs before it (the folder import).
        reading.keep();
        ctx.data = serde_json::to_value(&p).map_err(|e| EngineError::Invalid(e.to_string()))?;
        return Ok(JobStep::Continue);
    }
    p.total = p.cursor;
    s.as_system(|s| results::attach(s, p.node, p.log))?;
    if p.dry_run {
        let summary = format!("dry run, nothing was written: {} would give {}", p.file, p.tally.summary());
        log_result(s, p.log, result::DRY_RUN, &summary)?;
        uploads::remove(s, p.node, &p.file)?;
        ctx.data = serde_json::to_value(&p).map_err(|e| EngineError::Invalid(e.to_string()))?;
        return Ok(JobStep::Done(Some(summary)));
    }
    let pending = reading.full_catalog && retire_pending(s, &p)?;
    let mut summary = format!("{}: {}", p.file, p.tally.summary());
    if pending {
        summary.push_str("; what the full unload left out is retired when the exchange ends");
    }
    log_result(s, p.log, result::SUCCEEDED, &summary)?;
    if !reading.seen.is_empty() {
        let f = [("relata_seenids".to_string(), Value::Bytes(reading.seen.join("\n").into_bytes()))];
        s.system_update("relata_exchangelog", p.log, f.into_iter().collect())?;
    }
    uploads::remove(s, p.node, &p.file)?;
    uploads::touch_node(s, p.node, "relata_lastimporton")?;
    ctx.data = serde_json::to_value(&p).map_err(|e| EngineError::Invalid(e.to_string()))?;
    Ok(JobStep::Done(Some(summary)))
}

/// After a full 2.x catalog file: notes on the node that what the
/// exchange's files do not name is to be retired once the exchange ends
/// (see [`settle`]), if the node says so. Not at once: 2.x has no
/// end-of-exchange call, and a catalog in several full files would
/// retire each other's products until the last arrived.
fn retire_pending(s: &mut Session<'_, '_, '_>, p: &Progress) -> Result<bool> {
    let node = s.read_system("relata_exchangenode", p.node)?.unwrap_or_default();
    if node.get("relata_retiremissing").and_then(Value::as_bool) == Some(false) {
        return Ok(false);
    }
    let log = s.read_system("relata_exchangelog", p.log)?.unwrap_or_default();
    let this_file = log.get("createdon").and_then(Value::as_datetime).unwrap_or(s.now);
    let since = p.session_start.filter(|start| *start <= this_file).unwrap_or(this_file);
    let pending = node.get("relata_retirependingsince").and_then(Value::as_datetime);
    if pending.is_none_or(|earlier| since < earlier) {
        let f = [("relata_retirependingsince".to_string(), Value::DateTime(since))];
        s.system_update("relata_exchangenode", p.node, f.into_iter().collect())?;
    }
    Ok(true)
}

/// Ends a full 2.x unload whose exchange is over: retires the node's
/// products (not families: a file without a classifier says nothing of
/// them) that no file imported since it started named, and logs what it
/// retired.
/// Returns how many were retired, `None` when no unload was pending.
pub(super) fn settle(s: &mut Session<'_, '_, '_>, node: Uuid) -> Result<Option<u64>> {
    let settings = s.read_system("relata_exchangenode", node)?.unwrap_or_default();
    let Some(since) = settings.get("relata_retirependingsince").and_then(Value::as_datetime) else {
        return Ok(None);
    };
    let retired = catalog::retire_untouched(s, node, since, false)?;
    let f = [("relata_retirependingsince".to_string(), Value::Null)];
    s.system_update("relata_exchangenode", node, f.into_iter().collect())?;
    if retired == 0 {
        return Ok(Some(0));
    }
    let log = start_log(s, node, "")?;
    let message = format!("{retired} products the last full unload left out were retired");
    let f = [("relata_name".to_string(), Value::String("Full unload ended".into()))];
    s.system_update("relata_exchangelog", log, f.into_iter().collect())?;
    log_result(s, log, result::SUCCEEDED, &message)?;
    Ok(Some(retired))
}

/// The context of an import run in this process, step by step, rather
/// than by the job runner (the folder import).
pub(super) fn job_context(file: &str, p: &Progress) -> Result<JobContext> {
    Ok(JobContext {
        id: Uuid::now_v7(),
        name: format!("1C import: {file}"),
        data: serde_json::to_value(p).map_err(|e| EngineError::Invalid(e.to_string()))?,
        regarding: None,
        message_name: None,
        retry_count: 0,
        depth: 0,
        now: chrono::Utc::now(),
        next_run: None,
        effect: None,
        last_attempt: true,
    })
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
    let settings = s.read_system("relata_exchangenode", node)?.unwrap_or_default();
    let dry_run = settings.get("relata_dryrun").and_then(Value::as_bool).unwrap_or(false);
    let session_start = settings.get("relata_catalogstartedon").and_then(Value::as_datetime);
    let progress = Progress { node, file: file.to_string(), log, dry_run, session_start, ..Progress::default() };
    let data = serde_json::to_value(progress).map_err(|e| EngineError::Invalid(e.to_string()))?;
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
        Some(p) if p.size > 0 => {
            let percent = (p.read.min(p.size) * 100) / p.size;
            format!("{}: {} items imported, {percent}% of the file read", p.file, p.cursor)
        }
        Some(p) => format!("{}: the import is queued", p.file),
        None => "the import is queued".into(),
    }))
}

#[cfg(test)]
mod tests {
    use relata_store::{Db, DbOptions};

    use super::*;
    use crate::exchange1c::nodes::DEFAULT_NODE;
    use crate::org::{Org, OrgConfig};

    /// `n` goods with a price and stock each.
    fn package(n: usize) -> Vec<u8> {
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><КоммерческаяИнформация ВерсияСхемы=\"2.07\">\
             <Каталог><Ид>c</Ид><Наименование>Каталог</Наименование><Товары>",
        );
        for i in 0..n {
            xml.push_str(&format!(
                "<Товар><Ид>g{i}</Ид><Наименование>Товар {i}</Наименование>\
                 <БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\">шт</БазоваяЕдиница></Товар>"
            ));
        }
        xml.push_str(
            "</Товары></Каталог><ПакетПредложений><Ид>c#</Ид><Наименование>Пакет</Наименование>\
             <ТипыЦен><ТипЦены><Ид>retail</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен>\
             <Склады><Склад><Ид>main</Ид><Наименование>Основной</Наименование></Склад></Склады><Предложения>",
        );
        for i in 0..n {
            xml.push_str(&format!(
                "<Предложение><Ид>g{i}</Ид><Цены><Цена><ИдТипаЦены>retail</ИдТипаЦены><ЦенаЗаЕдиницу>{}</ЦенаЗаЕдиницу>\
                 </Цена></Цены><Склад ИдСклада=\"main\" КоличествоНаСкладе=\"3\"/></Предложение>",
                100 + i
            ));
        }
        xml.push_str("</Предложения></ПакетПредложений></КоммерческаяИнформация>");
        xml.into_bytes()
    }

    /// Runs `f` on a fresh organization on SQLite, then on PostgreSQL when
    /// `RELATA_TEST_POSTGRES_URL` names one.
    fn each_database(f: impl Fn(&Org)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open_sqlite(&dir.path().join("relata.db"), &DbOptions::default()).expect("database");
        f(&Org::open(db, &OrgConfig::default()).expect("org"));
        let Ok(base) = std::env::var("RELATA_TEST_POSTGRES_URL") else { return };
        let admin = Db::open_postgres(&base, &DbOptions::default()).expect("PostgreSQL is set but unreachable");
        let schema = format!("relata_import_{}", Uuid::new_v4().simple());
        admin.write(|tx| tx.batch(&format!("CREATE SCHEMA {schema}"))).expect("schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let db = Db::open_postgres(&url, &DbOptions::default()).expect("PostgreSQL schema");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f(&Org::open(db, &OrgConfig::default()).expect("org"))
        }));
        let _ = admin.write(|tx| tx.batch(&format!("DROP SCHEMA {schema} CASCADE")));
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    fn forget(job: Uuid) {
        READING.lock().retain(|r| r.job != job);
    }

    #[test]
    fn an_import_resumes_where_its_committed_steps_left_it() {
        let goods = 1_000;
        each_database(|org| {
            let system = org.system_principal();
            let bytes = package(goods);
            let log = org
                .write(&system, |s| {
                    uploads::store(s, DEFAULT_NODE, "import.xml", &mut bytes.as_slice())?;
                    start_log(s, DEFAULT_NODE, "import.xml")
                })
                .unwrap();
            let start = Progress { node: DEFAULT_NODE, file: "import.xml".into(), log, ..Progress::default() };
            let mut ctx = job_context("import.xml", &start).unwrap();
            let progress = |ctx: &JobContext| serde_json::from_value::<Progress>(ctx.data.clone()).unwrap();

            // A committed step, then one whose transaction is rolled back
            // after it ran: the reading kept is past the committed place.
            prepare(org, ctx.id, &ctx.data);
            assert!(matches!(org.write(&system, |s| step(s, &mut ctx)).unwrap(), JobStep::Continue));
            let first = progress(&ctx);
            assert!(first.cursor > 0 && first.read > 0 && first.read < first.size, "{first:?}");
            let mut lost = JobContext { data: ctx.data.clone(), ..job_context("import.xml", &first).unwrap() };
            lost.id = ctx.id;
            let rolled_back: Result<()> = org.write(&system, |s| {
                step(s, &mut lost)?;
                Err(EngineError::Invalid("the server stopped before the commit".into()))
            });
            assert!(rolled_back.is_err());
            assert!(progress(&lost).cursor > first.cursor, "the lost step got further");

            // Then steps with and without the reading kept, as after a
            // restart, until the end.
            let mut steps = 0;
            loop {
                steps += 1;
                if steps % 3 == 0 {
                    forget(ctx.id);
                }
                if steps % 2 == 0 {
                    prepare(org, ctx.id, &ctx.data);
                }
                if let JobStep::Done(summary) = org.write(&system, |s| step(s, &mut ctx)).unwrap() {
                    let summary = summary.unwrap_or_default();
                    // Each good, its price and its stock once; the price
                    // list, the warehouse and the unit.
                    assert!(
                        summary.contains(&format!("{} created, 0 updated, 0 unchanged", 3 * goods + 3)),
                        "{summary}"
                    );
                    break;
                }
                assert!(steps < 1_000, "the import ends");
            }
            let done = progress(&ctx);
            assert_eq!(done.total, 2 * goods + 2, "price type, warehouse, goods and offers: {done:?}");
            assert_eq!((done.read, done.size), (bytes.len() as u64, bytes.len() as u64));
            let (products, prices, seen) = org
                .write(&system, |s| {
                    let products = s.query_system(
                        "product",
                        &format!("$select=productid&$filter=_relata_exchangenodeid_value eq {DEFAULT_NODE}"),
                    )?;
                    let prices = s.query_system("productpricelevel", "$select=amount")?;
                    let log = s.read_system("relata_exchangelog", log)?.unwrap_or_default();
                    let seen = match log.get("relata_seenids") {
                        Some(Value::Bytes(b)) => String::from_utf8_lossy(b).lines().count(),
                        _ => 0,
                    };
                    Ok::<_, EngineError>((products.len(), prices.len(), seen))
                })
                .unwrap();
            assert_eq!(products, goods, "each good once");
            assert_eq!(prices, goods, "each good priced once");
            assert_eq!(seen, 2 * goods, "every good and offer the file named");
        });
    }
}

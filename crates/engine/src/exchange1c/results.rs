//! An import's result per record: one CSV line per item of the file
//! (kind, 1C `Ид`, name, result, why). Each step appends its lines to a
//! file kept with the node's uploads, in the step's transaction; when the
//! import ends they are attached to its log entry as a note, which the
//! record page and the Web API (`annotations`) both show.

use relata_metadata::{EntityRef, Value};
use uuid::Uuid;

use super::catalog::{Item, Tally};
use super::uploads;
use crate::error::{EngineError, Result};
use crate::session::{RecordInput, Session};

const HEADER: [&str; 5] = ["kind", "id", "name", "result", "message"];

/// One item's line.
#[derive(Debug, Clone)]
pub(super) struct Row {
    kind: &'static str,
    id: String,
    name: String,
    result: &'static str,
    message: String,
}

impl Row {
    /// The item applied: what it did, told by how the tally moved.
    pub fn of(item: &Item, before: &Tally, after: &Tally) -> Row {
        let result = if after.created > before.created {
            "created"
        } else if after.updated > before.updated || after.retired > before.retired {
            "updated"
        } else if after.waiting > before.waiting {
            "waiting"
        } else if after.skipped > before.skipped {
            "skipped"
        } else {
            "unchanged"
        };
        let message = after.warnings.get(before.warnings.len()..).map(|w| w.join("; ")).unwrap_or_default();
        Row::new(item, result, message)
    }

    /// The item refused, and why.
    pub fn error(item: &Item, why: &str) -> Row {
        Row::new(item, "error", why.to_string())
    }

    fn new(item: &Item, result: &'static str, message: String) -> Row {
        Row { kind: item.kind(), id: item.id().to_string(), name: item.name().to_string(), result, message }
    }
}

/// Where a log's lines wait until the import ends.
fn kept_as(log: Uuid) -> String {
    format!(".results/{log}.csv")
}

fn csv_of<'a>(rows: impl Iterator<Item = [&'a str; 5]>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r).map_err(|e| EngineError::Invalid(format!("the import's results: {e}")))?;
    }
    w.into_inner().map_err(|e| EngineError::Invalid(format!("the import's results: {e}")))
}

/// Appends a step's lines.
pub(super) fn append(s: &mut Session<'_, '_, '_>, node: Uuid, log: Uuid, rows: &[Row]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let bytes = csv_of(rows.iter().map(|r| [r.kind, &r.id, &r.name, r.result, &r.message]))?;
    uploads::append(s, node, &kept_as(log), &bytes)
}

/// Attaches the lines to the log entry, as a note with a CSV file.
pub(super) fn attach(s: &mut Session<'_, '_, '_>, node: Uuid, log: Uuid) -> Result<()> {
    let name = kept_as(log);
    let mut body = csv_of(std::iter::once(HEADER))?;
    if let Some(lines) = uploads::read(s, node, &name)? {
        body.extend_from_slice(&lines);
    }
    let fields = vec![
        ("subject".to_string(), Value::String("Result per record".into())),
        ("objectid".to_string(), Value::Ref(EntityRef { entity: "relata_exchangelog".into(), id: log })),
        ("filename".to_string(), Value::String("results.csv".into())),
        ("mimetype".to_string(), Value::String("text/csv".into())),
        ("documentbody".to_string(), Value::Bytes(body)),
    ];
    s.create("annotation", RecordInput::new(fields))?;
    uploads::remove(s, node, &name)
}

//! The files 1C uploads, kept in the database (`relata_exchangefile`)
//! until imported: any server process can then import them, and an upload
//! is a transaction like any write. 1C slices a file bigger than the
//! `file_limit` it was given into consecutive POSTs of the same name; each
//! is one part here, read back in order. A POST that starts a file anew
//! (an XML head or an archive signature) replaces what was kept under that
//! name: 1C is re-sending it.

use std::io::{Read, Seek, Write};

use chrono::{DateTime, Utc};
use relata_metadata::{EntityRef, Value};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::session::{RecordInput, Session};

/// The largest part kept in one record; unpacked files are cut to it.
const PART: usize = 16 * 1024 * 1024;
/// Limits on an archive's contents: a small archive that unpacks to
/// gigabytes is refused, not unpacked.
const MAX_UNPACKED: u64 = 1024 * 1024 * 1024;
/// The most an archive may unpack to per byte of its own: CommerceML
/// compresses some 10 to 30 times; a zip bomb, thousands.
const MAX_RATIO: u64 = 200;
const MAX_ENTRIES: usize = 100_000;

/// A file name as 1C sends it, made a safe relative path: backslashes
/// become slashes; a path that climbs out (`..`), an absolute one (a
/// leading slash or a Windows drive: 1C names files relative to its
/// exchange folder) or one with control characters is refused.
pub(super) fn normalize(name: &str) -> std::result::Result<String, String> {
    let name = name.trim().replace('\\', "/");
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() {
        return Err("the file name is empty".into());
    }
    if parts.contains(&"..") {
        return Err(format!("the file name '{name}' leaves the exchange folder ('..')"));
    }
    let drive = name.split_once(':').is_some_and(|(d, _)| d.len() == 1);
    if name.starts_with('/') || drive {
        return Err(format!("the file name '{name}' is absolute: files are named relative to the exchange folder"));
    }
    if name.chars().any(char::is_control) || name.contains(':') {
        return Err(format!("the file name '{name}' has characters a file name cannot have"));
    }
    let path = parts.join("/");
    if path.chars().count() > 400 {
        return Err(format!("the file name '{path}' is longer than 400 characters"));
    }
    Ok(path)
}

/// Is `bytes` the start of a file (so an upload under a known name
/// replaces it instead of appending)?
fn starts_a_file(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    body.starts_with(b"<?xml") || is_archive(body)
}

pub(super) fn is_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

fn node_ref(node: Uuid) -> Value {
    Value::Ref(EntityRef { entity: "relata_exchangenode".into(), id: node })
}

/// A kept part: its id, sequence and when it arrived.
type Part = (Uuid, i64, Option<DateTime<Utc>>);

/// The parts kept under `name`, in order.
fn parts(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str) -> Result<Vec<Part>> {
    let rows = s.query_system(
        "relata_exchangefile",
        &format!(
            "$select=relata_exchangefileid,relata_sequence,createdon,relata_exchangenodeid\
             &$filter=relata_name eq {}&$orderby=relata_sequence",
            super::catalog::quote(name)
        ),
    )?;
    Ok(rows
        .iter()
        .filter(|r| super::catalog::refers(r, "relata_exchangenodeid", node))
        .filter_map(|r| {
            let id = r.get("relata_exchangefileid")?.as_uuid()?;
            let seq = r.get("relata_sequence").and_then(Value::as_i64).unwrap_or(0);
            Some((id, seq, r.get("createdon").and_then(Value::as_datetime)))
        })
        .collect())
}

/// Keeps one POST of a file.
pub(super) fn append(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str, bytes: &[u8]) -> Result<()> {
    let mut kept = parts(s, node, name)?;
    if starts_a_file(bytes) && !kept.is_empty() {
        remove(s, node, name)?;
        kept.clear();
    }
    let next = kept.last().map_or(0, |p| p.1 + 1);
    // An empty upload is still a file (1C may send one).
    let chunks: Vec<&[u8]> = if bytes.is_empty() { vec![bytes] } else { bytes.chunks(PART).collect() };
    for (i, chunk) in chunks.into_iter().enumerate() {
        store_part(s, node, name, next + i as i64, chunk.to_vec())?;
    }
    Ok(())
}

/// Keeps one part of a file under its sequence number.
fn store_part(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str, sequence: i64, bytes: Vec<u8>) -> Result<()> {
    let fields = vec![
        ("relata_name".to_string(), Value::String(name.to_string())),
        ("relata_exchangenodeid".to_string(), node_ref(node)),
        ("relata_sequence".to_string(), Value::Int(sequence)),
        ("relata_size".to_string(), Value::Int(bytes.len() as i64)),
        ("relata_body".to_string(), Value::Bytes(bytes)),
    ];
    s.create("relata_exchangefile", RecordInput::new(fields))?;
    Ok(())
}

/// Keeps a whole file read from `file`, replacing what was kept under
/// `name`, a part at a time. Returns its size.
pub(super) fn store(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str, file: &mut dyn Read) -> Result<u64> {
    remove(s, node, name)?;
    let mut size = 0;
    for sequence in 0.. {
        let mut part = Vec::new();
        file.take(PART as u64)
            .read_to_end(&mut part)
            .map_err(|e| EngineError::Invalid(format!("'{name}' could not be read: {e}")))?;
        size += part.len() as u64;
        let last = part.len() < PART;
        if !(part.is_empty() && sequence > 0) {
            store_part(s, node, name, sequence, part)?;
        }
        if last {
            break;
        }
    }
    Ok(size)
}

/// A kept file whole, or None if nothing was uploaded under `name`. For
/// small files; see [`copy_to`] for the ones of any size.
pub(super) fn read(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    Ok(copy_to(s, node, name, &mut out)?.map(|_| out))
}

/// Writes a kept file to `out`, a part at a time so that memory holds one
/// part. Returns its size, or None if nothing was uploaded under `name`.
pub(super) fn copy_to(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str, out: &mut dyn Write) -> Result<Option<u64>> {
    let kept = parts(s, node, name)?;
    if kept.is_empty() {
        return Ok(None);
    }
    let mut size = 0;
    for (id, _, _) in kept {
        let part = s.read_system("relata_exchangefile", id)?;
        if let Some(Value::Bytes(b)) = part.as_ref().and_then(|p| p.get("relata_body")) {
            out.write_all(b).map_err(|e| EngineError::Invalid(format!("'{name}' could not be copied: {e}")))?;
            size += b.len() as u64;
        }
    }
    Ok(Some(size))
}

/// The first part of a kept file (up to [`PART`] bytes): enough to tell
/// what it is.
fn head(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str) -> Result<Option<Vec<u8>>> {
    let Some((id, _, _)) = parts(s, node, name)?.into_iter().next() else { return Ok(None) };
    Ok(match s.read_system("relata_exchangefile", id)?.and_then(|mut p| p.remove("relata_body")) {
        Some(Value::Bytes(b)) => Some(b),
        _ => Some(Vec::new()),
    })
}

/// When the last part of `name` arrived, if it is kept.
pub(super) fn uploaded_on(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(parts(s, node, name)?.iter().filter_map(|p| p.2).max())
}

pub(super) fn remove(s: &mut Session<'_, '_, '_>, node: Uuid, name: &str) -> Result<()> {
    for (id, _, _) in parts(s, node, name)? {
        s.delete("relata_exchangefile", id, None)?;
    }
    Ok(())
}

/// The names of the files kept for a node.
pub(super) fn names(s: &mut Session<'_, '_, '_>, node: Uuid) -> Result<Vec<String>> {
    let rows = s.query_system(
        "relata_exchangefile",
        &format!("$select=relata_name&$filter=_relata_exchangenodeid_value eq {node} and relata_sequence eq 0"),
    )?;
    let mut names: Vec<String> =
        rows.iter().filter_map(|r| r.get("relata_name").and_then(Value::as_str).map(str::to_string)).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Drops what earlier exchanges left behind (files never imported),
/// older than `before`: a new exchange starts clean, but never loses the
/// files of one still running.
pub(super) fn remove_stale(s: &mut Session<'_, '_, '_>, node: Uuid, before: DateTime<Utc>) -> Result<usize> {
    let rows = s.query_system(
        "relata_exchangefile",
        &format!(
            "$select=relata_exchangefileid&$filter=_relata_exchangenodeid_value eq {node} and createdon lt {}",
            before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    )?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.get("relata_exchangefileid").and_then(Value::as_uuid)).collect();
    for id in &ids {
        s.delete("relata_exchangefile", *id, None)?;
    }
    Ok(ids.len())
}

/// Unpacks every archive kept for a node into files of their own (the
/// names inside, made safe), then drops the archive. Returns the names
/// unpacked.
pub(super) fn unpack_archives(s: &mut Session<'_, '_, '_>, node: Uuid) -> Result<Vec<String>> {
    let mut unpacked = Vec::new();
    for name in names(s, node)? {
        if !head(s, node, &name)?.is_some_and(|h| is_archive(&h)) {
            continue;
        }
        // The archive goes to a temporary file, read from there: memory
        // holds a part, not the archive.
        let spill = |e: std::io::Error| EngineError::Invalid(format!("the archive '{name}' cannot be unpacked: {e}"));
        let mut file = tempfile::tempfile().map_err(spill)?;
        let size = copy_to(s, node, &name, &mut file)?.unwrap_or(0);
        file.rewind().map_err(spill)?;
        unpacked.extend(unzip(s, node, &name, std::io::BufReader::new(file), size)?);
        remove(s, node, &name)?;
    }
    Ok(unpacked)
}

/// Unpacks an archive into files of their own, a part at a time, so
/// memory holds one part whatever the archive's size; refuses zip bombs
/// (see [`MAX_RATIO`]) before writing past them.
fn unzip(
    s: &mut Session<'_, '_, '_>,
    node: Uuid,
    name: &str,
    archive: impl Read + Seek,
    size: u64,
) -> Result<Vec<String>> {
    let bad = |why: String| EngineError::Invalid(format!("the archive '{name}' cannot be unpacked: {why}"));
    let mut archive = zip::ZipArchive::new(archive).map_err(|e| bad(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(bad(format!("it holds {} files, more than {MAX_ENTRIES}", archive.len())));
    }
    // What the archive may unpack to: its own size times the ratio, and
    // never more than the overall limit.
    let allowed = size.saturating_mul(MAX_RATIO).min(MAX_UNPACKED);
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
        if file.is_dir() {
            continue;
        }
        let entry = normalize(file.name()).map_err(bad)?;
        remove(s, node, &entry)?;
        let mut sequence = 0;
        loop {
            let mut part = Vec::with_capacity(PART.min(1 << 20));
            (&mut file).take(PART as u64).read_to_end(&mut part).map_err(|e| bad(format!("'{entry}': {e}")))?;
            total += part.len() as u64;
            if total > allowed {
                return Err(bad(if allowed < MAX_UNPACKED {
                    format!("it unpacks to more than {MAX_RATIO} times its size, as a zip bomb does")
                } else {
                    format!("it unpacks to more than {} MiB", MAX_UNPACKED >> 20)
                }));
            }
            if part.is_empty() && sequence > 0 {
                break;
            }
            let last = part.len() < PART;
            store_part(s, node, &entry, sequence, part)?;
            sequence += 1;
            if last {
                break;
            }
        }
        out.push(entry);
    }
    Ok(out)
}

/// Stamps the node's last import or export time.
pub(super) fn touch_node(s: &mut Session<'_, '_, '_>, node: Uuid, column: &str) -> Result<()> {
    let changes = [(column.to_string(), Value::DateTime(s.now))].into_iter().collect();
    s.system_update("relata_exchangenode", node, changes)
}

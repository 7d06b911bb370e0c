//! The 1C identifier is unique per node: a second record of an entity
//! with the same `Ид` in the same node is refused, whoever writes it (the
//! exchange, the Web API, an import), so the exchange always finds one.

use std::collections::HashMap;

use relata_metadata::Value;

use crate::error::{EngineError, Result};
use crate::modules::StepContext;
use crate::session::Session;

/// The entities that carry a 1C identifier.
pub(super) const ENTITIES: [&str; 5] =
    ["product", "pricelevel", "relata_warehouse", "relata_productproperty", "account"];

pub(super) fn unique_exchange_id(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    unique_exchange_ids(s, &mut [ctx])
}

/// The same over a batch: one query for every identifier it writes, and
/// two records of the batch with one identifier in one node conflict.
pub(super) fn unique_exchange_ids(s: &mut Session<'_, '_, '_>, batch: &mut [&mut StepContext<'_>]) -> Result<()> {
    let touched =
        |c: &StepContext<'_>| ["relata_exchangeid", "relata_exchangenodeid"].iter().any(|k| c.target.contains_key(*k));
    let written = |c: &StepContext<'_>| -> Option<(String, Option<uuid::Uuid>)> {
        let id = c.value("relata_exchangeid").and_then(Value::as_str).filter(|v| !v.is_empty())?;
        Some((id.to_string(), c.value("relata_exchangenodeid").and_then(Value::as_uuid)))
    };
    let wanted: Vec<String> = batch.iter().filter(|c| touched(c)).filter_map(|c| written(c).map(|w| w.0)).collect();
    let Some(first) = batch.first() else { return Ok(()) };
    if wanted.is_empty() {
        return Ok(());
    }
    let entity = first.entity.name().to_string();
    let key = first.entity.primary_id().to_string();
    // (Ид, node) → the records that have it.
    let mut holders: HashMap<(String, Option<uuid::Uuid>), Vec<uuid::Uuid>> = HashMap::new();
    for r in s.query_system_in(&entity, "relata_exchangeid", &wanted)? {
        let (Some(id), Some(pk)) =
            (r.get("relata_exchangeid").and_then(Value::as_str), r.get(&key).and_then(Value::as_uuid))
        else {
            continue;
        };
        let node = r.get("relata_exchangenodeid").and_then(Value::as_uuid);
        holders.entry((id.to_string(), node)).or_default().push(pk);
    }
    for c in batch.iter_mut() {
        let Some(w) = written(c).filter(|_| touched(c)) else { continue };
        let list = holders.entry(w.clone()).or_default();
        if list.iter().any(|pk| *pk != c.id) {
            return Err(EngineError::Conflict(format!(
                "another {entity} of this exchange node already has the 1C ID '{}'",
                w.0
            )));
        }
        list.push(c.id);
    }
    Ok(())
}

//! The 1C identifier is unique per node: a second record of an entity
//! with the same `Ид` in the same node is refused, whoever writes it (the
//! exchange, the Web API, an import), so the exchange always finds one.

use relata_metadata::Value;

use super::catalog::quote;
use crate::error::{EngineError, Result};
use crate::modules::StepContext;
use crate::session::Session;

/// The entities that carry a 1C identifier.
pub(super) const ENTITIES: [&str; 5] =
    ["product", "pricelevel", "relata_warehouse", "relata_productproperty", "account"];

pub(super) fn unique_exchange_id(s: &mut Session<'_, '_, '_>, ctx: &mut StepContext<'_>) -> Result<()> {
    let touched = ["relata_exchangeid", "relata_exchangenodeid"].iter().any(|k| ctx.target.contains_key(*k));
    if !touched {
        return Ok(());
    }
    let Some(id) = ctx.value("relata_exchangeid").and_then(Value::as_str).filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let id = id.to_string();
    let node = ctx.value("relata_exchangenodeid").and_then(Value::as_uuid);
    let key = ctx.entity.primary_id().to_string();
    let entity = ctx.entity.name().to_string();
    let others = s.query_system(
        &entity,
        &format!("$select={key},relata_exchangenodeid&$filter=relata_exchangeid eq {}", quote(&id)),
    )?;
    let same_node = |r: &&crate::session::Fields| r.get("relata_exchangenodeid").and_then(Value::as_uuid) == node;
    if others.iter().filter(same_node).any(|r| r.get(&key).and_then(Value::as_uuid) != Some(ctx.id)) {
        return Err(EngineError::Conflict(format!(
            "another {entity} of this exchange node already has the 1C ID '{id}'"
        )));
    }
    Ok(())
}

//! Exchange nodes: one per 1C database. 1C signing in as a user exchanges
//! through the node that names that user, or else through the default
//! node every installation has, so pointing 1C at Relata needs no setup.
//! A node's identifiers are its own: the same `Ид` from two nodes makes
//! two products.

use relata_metadata::{Schema, Value};
use relata_store::{Param, Storage, Tx};
use uuid::Uuid;

use crate::error::Result;
use crate::org::OrgIds;
use crate::session::Session;

/// The default node's id: the same in every database, so that processes
/// opening one database together seed one node.
pub(crate) const DEFAULT_NODE: Uuid = Uuid::from_u128(0x1c0e_7a11_0000_4000_8000_0000_0000_0001);

/// Keeps the default node.
pub(super) fn seed(tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds) -> Result<()> {
    let exists = tx.query_one(
        "SELECT relata_exchangenodeid FROM relata_exchangenode WHERE relata_exchangenodeid = $1",
        &[Param::uuid(DEFAULT_NODE)],
        &[Storage::Uuid],
    )?;
    if exists.is_none() {
        crate::seed::insert(
            tx,
            schema,
            "relata_exchangenode",
            DEFAULT_NODE,
            ids.system_user,
            vec![
                ("relata_name", Value::String("1C".into())),
                ("relata_isdefault", Value::Bool(true)),
                (
                    "description",
                    Value::String("Exchanges with any 1C database whose exchange user no other node names.".into()),
                ),
            ],
        )?;
    }
    Ok(())
}

/// The active node `user` exchanges through.
pub(super) fn node_of(s: &mut Session<'_, '_, '_>, user: Uuid) -> Result<Uuid> {
    let own = s.query_system(
        "relata_exchangenode",
        &format!("$select=relata_exchangenodeid&$filter=_relata_userid_value eq {user} and statecode eq 0"),
    )?;
    Ok(own.first().and_then(|n| n.get("relata_exchangenodeid")).and_then(Value::as_uuid).unwrap_or(DEFAULT_NODE))
}

//! Loading a user's principal: business unit, teams, roles and privileges.

use std::collections::HashMap;

use relata_metadata::Schema;
use relata_security::{Depth, Principal};
use relata_store::{Param, Storage, Tx};
use uuid::Uuid;

use crate::error::{EngineError, Result};

fn ids(rows: Vec<Vec<relata_metadata::Value>>) -> Vec<Uuid> {
    rows.into_iter().filter_map(|r| r.first().and_then(|v| v.as_uuid())).collect()
}

fn in_params(start: usize, n: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub(crate) fn load_principal(tx: &mut Tx<'_>, _schema: &Schema, user: Uuid) -> Result<Principal> {
    let row = tx
        .query_one(
            "SELECT fullname, businessunitid FROM systemuser WHERE systemuserid = $1",
            &[Param::uuid(user)],
            &[Storage::Text, Storage::Uuid],
        )?
        .ok_or_else(|| EngineError::Unauthorized("The user does not exist.".into()))?;
    let full_name = row[0].as_str().unwrap_or_default().to_string();
    let business_unit_id = row[1].as_uuid().unwrap_or_default();
    let language = 1033;

    let teams = ids(tx.query(
        "SELECT teamid FROM teammembership WHERE systemuserid = $1",
        &[Param::uuid(user)],
        &[Storage::Uuid],
    )?);
    let mut roles = ids(tx.query(
        "SELECT roleid FROM systemuserroles WHERE systemuserid = $1",
        &[Param::uuid(user)],
        &[Storage::Uuid],
    )?);
    if !teams.is_empty() {
        let sql = format!("SELECT roleid FROM teamroles WHERE teamid IN ({})", in_params(1, teams.len()));
        let params: Vec<Param> = teams.iter().map(|t| Param::uuid(*t)).collect();
        roles.extend(ids(tx.query(&sql, &params, &[Storage::Uuid])?));
    }
    roles.sort_unstable();
    roles.dedup();

    let mut privileges = HashMap::new();
    let mut all_privileges = false;
    if !roles.is_empty() {
        let sql = format!(
            "SELECT privilege, MAX(depth) FROM relata_roleprivilege WHERE roleid IN ({}) GROUP BY privilege",
            in_params(1, roles.len())
        );
        let params: Vec<Param> = roles.iter().map(|r| Param::uuid(*r)).collect();
        for row in tx.query(&sql, &params, &[Storage::Text, Storage::BigInt])? {
            let name = row[0].as_str().unwrap_or_default().to_string();
            let depth = Depth::from_i64(row[1].as_i64().unwrap_or(0));
            if name == "*" && depth == Depth::Organization {
                all_privileges = true;
            }
            privileges.insert(name, depth);
        }
    }

    let business_unit_subtree = ids(tx.query(
        "WITH RECURSIVE sub(id) AS (
             SELECT businessunitid FROM businessunit WHERE businessunitid = $1
             UNION ALL
             SELECT b.businessunitid FROM businessunit b JOIN sub ON b.parentbusinessunitid = sub.id
         ) SELECT id FROM sub",
        &[Param::uuid(business_unit_id)],
        &[Storage::Uuid],
    )?);

    Ok(Principal {
        user_id: user,
        full_name,
        business_unit_id,
        business_unit_subtree,
        teams,
        privileges,
        all_privileges,
        language,
    })
}

//! Loading a principal: business unit, teams, roles with the business units
//! their grants reach, the license cap and field security profiles.

use std::collections::{HashMap, HashSet};

use relata_metadata::{Schema, Value};
use relata_security::{catalog, Access, Depth, FieldAccess, License, Principal};
use relata_store::{Param, Storage, Tx};
use uuid::Uuid;

use crate::error::{EngineError, Result};

pub(crate) fn ids(rows: Vec<Vec<Value>>) -> Vec<Uuid> {
    rows.into_iter().filter_map(|r| r.first().and_then(|v| v.as_uuid())).collect()
}

/// `$start, $start+1, …` for an IN list of `n` parameters.
pub(crate) fn in_params(start: usize, n: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The business unit tree: parent by unit.
pub(crate) struct BusinessUnits {
    children: HashMap<Uuid, Vec<Uuid>>,
}

impl BusinessUnits {
    pub(crate) fn load(tx: &mut Tx<'_>) -> Result<BusinessUnits> {
        let rows = tx.query(
            "SELECT businessunitid, parentbusinessunitid FROM businessunit",
            &[],
            &[Storage::Uuid, Storage::Uuid],
        )?;
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for r in rows {
            if let (Some(id), Some(parent)) = (r[0].as_uuid(), r[1].as_uuid()) {
                children.entry(parent).or_default().push(id);
            }
        }
        Ok(BusinessUnits { children })
    }

    /// A unit and every unit below it.
    pub(crate) fn subtree(&self, root: Uuid) -> Vec<Uuid> {
        let mut out = vec![root];
        let mut i = 0;
        while i < out.len() {
            if let Some(c) = self.children.get(&out[i]) {
                for id in c {
                    if !out.contains(id) {
                        out.push(*id);
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// Is `unit` or a unit above it disabled?
    pub(crate) fn disabled_in_chain(tx: &mut Tx<'_>, unit: Uuid) -> Result<bool> {
        let mut cursor = Some(unit);
        for _ in 0..1000 {
            let Some(id) = cursor else { break };
            let row = tx.query_one(
                "SELECT isdisabled, parentbusinessunitid FROM businessunit WHERE businessunitid = $1",
                &[Param::uuid(id)],
                &[Storage::Bool, Storage::Uuid],
            )?;
            let Some(row) = row else { break };
            if row[0].as_bool() == Some(true) {
                return Ok(true);
            }
            cursor = row[1].as_uuid();
        }
        Ok(false)
    }

    /// Is `unit` in the subtree of `root`?
    pub(crate) fn contains(&self, root: Uuid, unit: Uuid) -> bool {
        self.subtree(root).contains(&unit)
    }
}

/// The roles a principal holds, each with the business units its grants
/// are anchored at (the user's unit for the user's roles, each team's unit
/// for that team's roles).
struct Holdings {
    /// role → anchor business units
    roles: HashMap<Uuid, Vec<Uuid>>,
}

impl Holdings {
    fn add(&mut self, role: Uuid, anchor: Uuid) {
        let a = self.roles.entry(role).or_default();
        if !a.contains(&anchor) {
            a.push(anchor);
        }
    }
}

/// Privileges from role grants, with their reach, capped by the license.
fn privileges_of(
    tx: &mut Tx<'_>,
    schema: &Schema,
    holdings: &Holdings,
    license: License,
    system_administrator: bool,
) -> Result<HashMap<String, Access>> {
    let cat = catalog(schema);
    let mut out: HashMap<String, Access> = HashMap::new();
    if system_administrator {
        for p in &cat {
            out.insert(p.name.clone(), Access { depth: Depth::Organization, business_units: vec![] });
        }
    } else if !holdings.roles.is_empty() {
        let units = BusinessUnits::load(tx)?;
        let roles: Vec<Uuid> = holdings.roles.keys().copied().collect();
        let sql = format!(
            "SELECT rp.roleid, p.name, rp.privilegedepthmask FROM roleprivileges rp
             JOIN privilege p ON p.privilegeid = rp.privilegeid WHERE rp.roleid IN ({})",
            in_params(1, roles.len())
        );
        let params: Vec<Param> = roles.iter().map(|r| Param::uuid(*r)).collect();
        for row in tx.query(&sql, &params, &[Storage::Uuid, Storage::Text, Storage::Int])? {
            let (Some(role), Some(name)) = (row[0].as_uuid(), row[1].as_str()) else { continue };
            let depth = Depth::from_mask(row[2].as_i64().unwrap_or(0));
            if depth == Depth::None {
                continue;
            }
            let a = out.entry(name.to_string()).or_default();
            a.depth = a.depth.max(depth);
            let anchors = holdings.roles.get(&role).cloned().unwrap_or_default();
            let reach: Vec<Uuid> = match depth {
                Depth::BusinessUnit => anchors,
                Depth::ParentChild => anchors.iter().flat_map(|b| units.subtree(*b)).collect(),
                _ => vec![],
            };
            for b in reach {
                if !a.business_units.contains(&b) {
                    a.business_units.push(b);
                }
            }
        }
    }
    let caps: HashMap<&str, _> = cat.iter().map(|p| (p.name.as_str(), (p.group, p.right))).collect();
    out.retain(|name, _| caps.get(name.as_str()).is_some_and(|(g, r)| license.allows(*g, *r)));
    for a in out.values_mut() {
        a.business_units.sort_unstable();
    }
    Ok(out)
}

/// Column permissions from the field security profiles of the user and its teams.
fn field_permissions(
    tx: &mut Tx<'_>,
    user: Option<Uuid>,
    teams: &[Uuid],
) -> Result<HashMap<(String, String), FieldAccess>> {
    let mut profiles: HashSet<Uuid> = HashSet::new();
    if let Some(u) = user {
        profiles.extend(ids(tx.query(
            "SELECT fieldsecurityprofileid FROM systemuserprofiles WHERE systemuserid = $1",
            &[Param::uuid(u)],
            &[Storage::Uuid],
        )?));
    }
    if !teams.is_empty() {
        let sql =
            format!("SELECT fieldsecurityprofileid FROM teamprofiles WHERE teamid IN ({})", in_params(1, teams.len()));
        let params: Vec<Param> = teams.iter().map(|t| Param::uuid(*t)).collect();
        profiles.extend(ids(tx.query(&sql, &params, &[Storage::Uuid])?));
    }
    let mut out: HashMap<(String, String), FieldAccess> = HashMap::new();
    if profiles.is_empty() {
        return Ok(out);
    }
    let profiles: Vec<Uuid> = profiles.into_iter().collect();
    let sql = format!(
        "SELECT entityname, attributelogicalname, canread, cancreate, canupdate FROM fieldpermission
         WHERE fieldsecurityprofileid IN ({})",
        in_params(1, profiles.len())
    );
    let params: Vec<Param> = profiles.iter().map(|p| Param::uuid(*p)).collect();
    let rows = tx.query(&sql, &params, &[Storage::Text, Storage::Text, Storage::Int, Storage::Int, Storage::Int])?;
    for r in rows {
        let (Some(e), Some(a)) = (r[0].as_str(), r[1].as_str()) else { continue };
        let allowed = |v: &Value| v.as_i64() == Some(4);
        let f = FieldAccess { read: allowed(&r[2]), create: allowed(&r[3]), update: allowed(&r[4]) };
        let slot = out.entry((e.to_string(), a.to_string())).or_default();
        *slot = slot.union(f);
    }
    Ok(out)
}

impl crate::org::Org {
    /// The principal a signed-in user acts as, without a token: for work
    /// the server does on a user's behalf (the CLI acting out demo data as
    /// its owners), so that their roles, depths and license apply as they
    /// would over the Web API. A disabled user, or one whose business unit
    /// is disabled, is `Unauthorized`.
    pub fn principal_of_user(&self, user: Uuid) -> Result<std::sync::Arc<Principal>> {
        self.db().read(|tx| -> Result<_> {
            let row = tx.query_one(
                "SELECT isdisabled FROM systemuser WHERE systemuserid = $1",
                &[Param::uuid(user)],
                &[Storage::Bool],
            )?;
            let Some(row) = row else {
                return Err(EngineError::not_found(format!("Entity 'systemuser' With Id = {user} Does Not Exist")));
            };
            if row[0].as_bool() == Some(true) {
                return Err(EngineError::Unauthorized("The user is disabled.".into()));
            }
            let version = tx.counter("security")?;
            let p = self.principal_for(tx, user, version)?;
            if p.business_unit_disabled {
                return Err(EngineError::Unauthorized("The user's business unit is disabled.".into()));
            }
            Ok(p)
        })
    }
}

pub(crate) fn load_principal(
    tx: &mut Tx<'_>,
    schema: &Schema,
    user: Uuid,
    system_administrator_role: Uuid,
) -> Result<Principal> {
    let row = tx
        .query_one(
            "SELECT fullname, businessunitid, caltype, accessmode FROM systemuser WHERE systemuserid = $1",
            &[Param::uuid(user)],
            &[Storage::Text, Storage::Uuid, Storage::Int, Storage::Int],
        )?
        .ok_or_else(|| EngineError::Unauthorized("The user does not exist.".into()))?;
    let full_name = row[0].as_str().unwrap_or_default().to_string();
    let business_unit_id = row[1].as_uuid().unwrap_or_default();
    let license = License::from_user(row[2].as_i64().unwrap_or(0), row[3].as_i64().unwrap_or(0));

    // Owner teams carry roles and own records; access teams only receive shares.
    let team_rows = tx.query(
        "SELECT t.teamid, t.businessunitid, t.teamtype FROM teammembership m
         JOIN team t ON t.teamid = m.teamid WHERE m.systemuserid = $1",
        &[Param::uuid(user)],
        &[Storage::Uuid, Storage::Uuid, Storage::Int],
    )?;
    let mut teams = Vec::new();
    let mut holdings = Holdings { roles: HashMap::new() };
    let mut owner_teams: Vec<(Uuid, Uuid)> = Vec::new();
    for r in team_rows {
        let (Some(t), Some(bu)) = (r[0].as_uuid(), r[1].as_uuid()) else { continue };
        teams.push(t);
        if r[2].as_i64().unwrap_or(0) == 0 {
            owner_teams.push((t, bu));
        }
    }
    for role in ids(tx.query(
        "SELECT roleid FROM systemuserroles WHERE systemuserid = $1",
        &[Param::uuid(user)],
        &[Storage::Uuid],
    )?) {
        holdings.add(role, business_unit_id);
    }
    team_roles(tx, &owner_teams, &mut holdings)?;
    let is_system_administrator = holdings.roles.contains_key(&system_administrator_role);
    let privileges = privileges_of(tx, schema, &holdings, license, is_system_administrator)?;
    let fields = field_permissions(tx, Some(user), &teams)?;
    let business_unit_disabled = BusinessUnits::disabled_in_chain(tx, business_unit_id)?;
    // The interface language the user chose (`usersettings.uilanguageid`).
    let language = tx
        .query_one(
            "SELECT uilanguageid FROM usersettings WHERE systemuserid = $1",
            &[Param::uuid(user)],
            &[Storage::Int],
        )?
        .and_then(|r| r[0].as_i64())
        .and_then(|l| u32::try_from(l).ok())
        .unwrap_or(1033);
    Ok(Principal {
        business_unit_disabled,
        user_id: user,
        is_team: false,
        full_name,
        business_unit_id,
        teams,
        privileges,
        is_system_administrator,
        all_privileges: false,
        license,
        fields,
        language,
    })
}

fn team_roles(tx: &mut Tx<'_>, teams: &[(Uuid, Uuid)], holdings: &mut Holdings) -> Result<()> {
    if teams.is_empty() {
        return Ok(());
    }
    let sql = format!("SELECT teamid, roleid FROM teamroles WHERE teamid IN ({})", in_params(1, teams.len()));
    let params: Vec<Param> = teams.iter().map(|t| Param::uuid(t.0)).collect();
    for r in tx.query(&sql, &params, &[Storage::Uuid, Storage::Uuid])? {
        let (Some(team), Some(role)) = (r[0].as_uuid(), r[1].as_uuid()) else { continue };
        if let Some((_, bu)) = teams.iter().find(|(t, _)| *t == team) {
            holdings.add(role, *bu);
        }
    }
    Ok(())
}

/// A team as a principal: its own roles anchored at its business unit;
/// its records are those it owns or that are shared with it.
pub(crate) fn load_team_principal(
    tx: &mut Tx<'_>,
    schema: &Schema,
    team: Uuid,
    system_administrator_role: Uuid,
) -> Result<Principal> {
    let row = tx
        .query_one(
            "SELECT name, businessunitid, teamtype FROM team WHERE teamid = $1",
            &[Param::uuid(team)],
            &[Storage::Text, Storage::Uuid, Storage::Int],
        )?
        .ok_or_else(|| EngineError::not_found(format!("Entity 'team' With Id = {team} Does Not Exist")))?;
    let business_unit_id = row[1].as_uuid().unwrap_or_default();
    let mut holdings = Holdings { roles: HashMap::new() };
    if row[2].as_i64().unwrap_or(0) == 0 {
        team_roles(tx, &[(team, business_unit_id)], &mut holdings)?;
    }
    let is_system_administrator = holdings.roles.contains_key(&system_administrator_role);
    let privileges = privileges_of(tx, schema, &holdings, License::Professional, is_system_administrator)?;
    let fields = field_permissions(tx, None, &[team])?;
    Ok(Principal {
        user_id: team,
        is_team: true,
        full_name: row[0].as_str().unwrap_or_default().to_string(),
        business_unit_id,
        teams: vec![],
        privileges,
        is_system_administrator,
        all_privileges: false,
        license: License::Professional,
        fields,
        language: 1033,
        business_unit_disabled: false,
    })
}

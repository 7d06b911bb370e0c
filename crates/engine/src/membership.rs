//! Who belongs where: role assignment (inherited down the business unit
//! tree, never beyond what the assigner holds), team membership, the
//! default team every business unit has, and moving users and teams
//! between business units (their records move with them).

use relata_metadata::{Entity, EntityRef, Value};
use relata_security::Right;
use relata_store::{Param, SqlBuilder, Storage};
use uuid::Uuid;

use crate::audit;
use crate::error::{EngineError, Result};
use crate::principal::BusinessUnits;
use crate::session::{not_found, Session};

impl Session<'_, '_, '_> {
    /// Rules of the security relationships, on top of Append/AppendTo.
    pub(crate) fn check_link_rules(
        &mut self,
        table: &str,
        a: &Entity,
        a_id: Uuid,
        b: &Entity,
        b_id: Uuid,
        associate: bool,
    ) -> Result<()> {
        let pick = |name: &str| {
            if a.name() == name {
                Some(a_id)
            } else if b.name() == name {
                Some(b_id)
            } else {
                None
            }
        };
        match table {
            "roleprivileges" => Err(EngineError::Invalid(
                "Privileges are granted with AddPrivilegesRole, ReplacePrivilegesRole and RemovePrivilegeRole.".into(),
            )),
            "systemuserroles" | "teamroles" => {
                self.require_global("prvAssignRole")?;
                let role = pick("role").expect("role side");
                let (holder_kind, holder) = if table == "systemuserroles" {
                    ("systemuser", pick("systemuser"))
                } else {
                    ("team", pick("team"))
                };
                let holder = holder.expect("holder side");
                if associate {
                    let holder_bu = self.unit_of(holder_kind, holder)?;
                    let role_bu = self.unit_of("role", role)?;
                    if !BusinessUnits::load(self.tx)?.contains(role_bu, holder_bu) {
                        return Err(EngineError::Invalid(format!(
                            "The role {role} belongs to another branch of the business unit tree: a role can be given \
                             to users and teams of its business unit and of the units below it."
                        )));
                    }
                    let grants: Vec<_> = self.role_privileges(role)?.into_iter().map(|p| (p.name, p.depth)).collect();
                    self.check_escalation(&grants)?;
                } else if role == self.org.ids.system_administrator_role && holder_kind == "systemuser" {
                    self.keep_one_administrator(holder)?;
                }
                Ok(())
            }
            "teammembership" => {
                let team = pick("team").expect("team side");
                let entity = self.entity("team")?;
                let existing = self.load(&entity, team)?.ok_or_else(|| not_found("team", team))?;
                self.require(&entity, Right::Write, &existing, team)?;
                if existing.get("isdefault").and_then(Value::as_bool) == Some(true) {
                    return Err(EngineError::Invalid(
                        "The members of a business unit's default team are the users of that unit; move the user instead."
                            .into(),
                    ));
                }
                Ok(())
            }
            "systemuserprofiles" | "teamprofiles" => {
                let profile = pick("fieldsecurityprofile").expect("profile side");
                let entity = self.entity("fieldsecurityprofile")?;
                let existing =
                    self.load(&entity, profile)?.ok_or_else(|| not_found("fieldsecurityprofile", profile))?;
                self.require(&entity, Right::Write, &existing, profile)
            }
            _ => Ok(()),
        }
    }

    fn unit_of(&mut self, kind: &str, id: Uuid) -> Result<Uuid> {
        let (table, pk) = match kind {
            "systemuser" => ("systemuser", "systemuserid"),
            "team" => ("team", "teamid"),
            _ => ("role", "roleid"),
        };
        self.tx
            .query_one(
                &format!("SELECT businessunitid FROM {table} WHERE {pk} = $1"),
                &[Param::uuid(id)],
                &[Storage::Uuid],
            )?
            .and_then(|r| r[0].as_uuid())
            .ok_or_else(|| not_found(kind, id))
    }

    /// Does the user hold the System Administrator role itself?
    pub(crate) fn holds_administrator_role(&mut self, user: Uuid) -> Result<bool> {
        Ok(self
            .tx
            .query_one(
                "SELECT 1 FROM systemuserroles WHERE systemuserid = $1 AND roleid = $2",
                &[Param::uuid(user), Param::uuid(self.org.ids.system_administrator_role)],
                &[Storage::Int],
            )?
            .is_some())
    }

    /// An organization must keep an enabled System Administrator.
    pub(crate) fn keep_one_administrator(&mut self, losing: Uuid) -> Result<()> {
        let others = self.tx.query(
            "SELECT u.systemuserid FROM systemuserroles ur JOIN systemuser u ON u.systemuserid = ur.systemuserid
             WHERE ur.roleid = $1 AND u.systemuserid <> $2 AND u.systemuserid <> $3 AND u.isdisabled = $4",
            &[
                Param::uuid(self.org.ids.system_administrator_role),
                Param::uuid(losing),
                Param::uuid(self.org.ids.system_user),
                Param::new(Value::Bool(false), Storage::Bool),
            ],
            &[Storage::Uuid],
        )?;
        if others.is_empty() {
            return Err(EngineError::Invalid(
                "This is the last enabled System Administrator; give the role to someone else first.".into(),
            ));
        }
        Ok(())
    }

    /// The default team of a business unit, if it has one.
    pub(crate) fn default_team(&mut self, bu: Uuid) -> Result<Option<Uuid>> {
        Ok(self
            .tx
            .query_one(
                "SELECT teamid FROM team WHERE businessunitid = $1 AND isdefault = $2",
                &[Param::uuid(bu), Param::new(Value::Bool(true), Storage::Bool)],
                &[Storage::Uuid],
            )?
            .and_then(|r| r[0].as_uuid()))
    }

    /// Creates a business unit's default team (the platform's doing, so
    /// it needs no team privileges of the caller).
    pub(crate) fn create_default_team(&mut self, bu: Uuid, name: &str) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let admin = if self.principal.is_team { self.org.ids.system_user } else { self.principal.user_id };
        crate::seed::insert(
            self.tx,
            &self.schema,
            "team",
            id,
            admin,
            vec![
                ("name", Value::String(name.chars().take(160).collect())),
                ("businessunitid", Value::Ref(EntityRef { entity: "businessunit".into(), id: bu })),
                ("administratorid", Value::Ref(EntityRef { entity: "systemuser".into(), id: admin })),
                ("teamtype", Value::Int(0)),
                ("isdefault", Value::Bool(true)),
            ],
        )?;
        Ok(id)
    }

    pub(crate) fn join_default_team(&mut self, user: Uuid, bu: Uuid) -> Result<()> {
        let Some(team) = self.default_team(bu)? else { return Ok(()) };
        let present = self.tx.query_one(
            "SELECT 1 FROM teammembership WHERE teamid = $1 AND systemuserid = $2",
            &[Param::uuid(team), Param::uuid(user)],
            &[Storage::Int],
        )?;
        if present.is_none() {
            self.tx.execute(
                "INSERT INTO teammembership (teammembershipid, teamid, systemuserid) VALUES ($1, $2, $3)",
                &[Param::uuid(Uuid::now_v7()), Param::uuid(team), Param::uuid(user)],
            )?;
        }
        Ok(())
    }

    fn leave_default_team(&mut self, user: Uuid, bu: Uuid) -> Result<()> {
        if let Some(team) = self.default_team(bu)? {
            self.tx.execute(
                "DELETE FROM teammembership WHERE teamid = $1 AND systemuserid = $2",
                &[Param::uuid(team), Param::uuid(user)],
            )?;
        }
        Ok(())
    }

    /// A user moved to another business unit: their records follow, roles
    /// the new unit does not inherit are removed, default teams change.
    pub(crate) fn user_moved(&mut self, user: Uuid, old_bu: Uuid, new_bu: Uuid) -> Result<()> {
        self.move_owned_records(user, new_bu)?;
        let rows = self.tx.query(
            "SELECT r.roleid, r.businessunitid FROM systemuserroles ur JOIN role r ON r.roleid = ur.roleid
             WHERE ur.systemuserid = $1",
            &[Param::uuid(user)],
            &[Storage::Uuid, Storage::Uuid],
        )?;
        self.drop_uninherited_roles("systemuserroles", "systemuserid", "systemuser", user, new_bu, rows)?;
        self.leave_default_team(user, old_bu)?;
        self.join_default_team(user, new_bu)
    }

    /// A team moved to another business unit.
    pub(crate) fn team_moved(&mut self, team: Uuid, new_bu: Uuid) -> Result<()> {
        self.move_owned_records(team, new_bu)?;
        let rows = self.tx.query(
            "SELECT r.roleid, r.businessunitid FROM teamroles tr JOIN role r ON r.roleid = tr.roleid WHERE tr.teamid = $1",
            &[Param::uuid(team)],
            &[Storage::Uuid, Storage::Uuid],
        )?;
        self.drop_uninherited_roles("teamroles", "teamid", "team", team, new_bu, rows)
    }

    fn drop_uninherited_roles(
        &mut self,
        table: &str,
        column: &str,
        kind: &str,
        holder: Uuid,
        new_bu: Uuid,
        rows: Vec<Vec<Value>>,
    ) -> Result<()> {
        let units = BusinessUnits::load(self.tx)?;
        for r in rows {
            let (Some(role), Some(role_bu)) = (r[0].as_uuid(), r[1].as_uuid()) else { continue };
            if units.contains(role_bu, new_bu) {
                continue;
            }
            self.tx.execute(
                &format!("DELETE FROM {table} WHERE {column} = $1 AND roleid = $2"),
                &[Param::uuid(holder), Param::uuid(role)],
            )?;
            audit::linked(
                self,
                if table == "systemuserroles" { "systemuserroles_association" } else { "teamroles_association" },
                table,
                &EntityRef { entity: kind.into(), id: holder },
                &EntityRef { entity: "role".into(), id: role },
                false,
            )?;
        }
        Ok(())
    }

    /// Records owned by a user or team take its new business unit.
    fn move_owned_records(&mut self, owner: Uuid, new_bu: Uuid) -> Result<()> {
        let schema = self.schema.clone();
        let mut tables: Vec<&str> = schema.entities().filter(|e| e.is_owned()).map(|e| e.table()).collect();
        tables.sort_unstable();
        tables.dedup();
        let version = self.tx.next_counter("rowversion")?;
        for t in tables {
            let mut b = SqlBuilder::new(self.tx.backend());
            b.push("UPDATE ").ident(t).push(" SET owningbusinessunit = ");
            b.param(Param::uuid(new_bu));
            b.push(", versionnumber = ");
            b.param(Param::bigint(version));
            b.push(" WHERE ownerid = ");
            b.param(Param::uuid(owner));
            self.tx.execute(&b.sql, &b.params)?;
        }
        Ok(())
    }
}

//! Record teams (`AddUserToRecordTeam` / `RemoveUserFromRecordTeam`): an
//! opportunity's sales team is an access team made for that record from
//! a team template; the record is shared with the team, so its members
//! get the template's rights on it and nothing else.

use relata_metadata::{EntityRef, Value};
use relata_security::{AccessRights, Right};
use relata_store::{Param, Storage};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::session::Session;

/// The team template seeded for opportunities.
pub(crate) const SALES_TEAM_TEMPLATE: &str = "Sales Team Template";

const ACCESS_TEAM: i64 = 1;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

impl Session<'_, '_, '_> {
    /// Adds `user` to the record's team of `template` (made on first use);
    /// returns the team. The caller must be able to share the record.
    pub fn add_user_to_record_team(&mut self, user: Uuid, record: &EntityRef, template: Uuid) -> Result<Uuid> {
        let (team, mask) = self.record_team(record, template, true)?;
        let team = team.expect("created when missing");
        let active = self.tx.query_one(
            "SELECT isdisabled FROM systemuser WHERE systemuserid = $1",
            &[Param::uuid(user)],
            &[Storage::Bool],
        )?;
        match active.and_then(|r| r[0].as_bool()) {
            None => return Err(invalid(format!("The user {user} does not exist."))),
            Some(true) => {
                let english = "A disabled user cannot join a record's team.";
                return Err(super::messages::refused(None, "sales.disabled_team_member", vec![], english));
            }
            Some(false) => {}
        }
        self.grant_access(record, &EntityRef { entity: "team".into(), id: team }, mask)?;
        let member = self.tx.query_one(
            "SELECT 1 FROM teammembership WHERE teamid = $1 AND systemuserid = $2",
            &[Param::uuid(team), Param::uuid(user)],
            &[Storage::Int],
        )?;
        if member.is_none() {
            self.tx.execute(
                "INSERT INTO teammembership (teammembershipid, teamid, systemuserid) VALUES ($1, $2, $3)",
                &[Param::uuid(Uuid::now_v7()), Param::uuid(team), Param::uuid(user)],
            )?;
            self.audit(crate::AuditAction::AddMembers, Some(&EntityRef { entity: "team".into(), id: team }), &[])?;
            self.tx.next_counter("security")?;
        }
        Ok(team)
    }

    /// Takes `user` off the record's team of `template`.
    pub fn remove_user_from_record_team(&mut self, user: Uuid, record: &EntityRef, template: Uuid) -> Result<()> {
        let (team, _) = self.record_team(record, template, false)?;
        let Some(team) = team else { return Ok(()) };
        let n = self.tx.execute(
            "DELETE FROM teammembership WHERE teamid = $1 AND systemuserid = $2",
            &[Param::uuid(team), Param::uuid(user)],
        )?;
        if n > 0 {
            self.audit(crate::AuditAction::RemoveMembers, Some(&EntityRef { entity: "team".into(), id: team }), &[])?;
            self.tx.next_counter("security")?;
        }
        Ok(())
    }

    /// The access team of `template` for `record` (made when `create`),
    /// after checking the caller may share the record.
    fn record_team(
        &mut self,
        record: &EntityRef,
        template: Uuid,
        create: bool,
    ) -> Result<(Option<Uuid>, AccessRights)> {
        let t = self
            .read_system("teamtemplate", template)?
            .ok_or_else(|| invalid(format!("The team template {template} does not exist.")))?;
        let entity = self.entity(&record.entity)?;
        if t.get("objecttypecode").and_then(Value::as_i64) != Some(entity.def.object_type_code as i64) {
            return Err(invalid(format!("The team template does not apply to '{}' records.", record.entity)));
        }
        let existing =
            self.load(&entity, record.id)?.ok_or_else(|| crate::session::not_found(&record.entity, record.id))?;
        self.require(&entity, Right::Share, &existing, record.id)?;
        let mask = AccessRights(t.get("defaultaccessrightsmask").and_then(Value::as_i64).unwrap_or(1) as u32);
        let found = self.query_system(
            "team",
            &format!(
                "$select=teamid&$filter=teamtype eq {ACCESS_TEAM} and _teamtemplateid_value eq {template} and \
                 _regardingobjectid_value eq {}",
                record.id
            ),
        )?;
        if let Some(id) = found.first().and_then(|r| r.get("teamid")).and_then(Value::as_uuid) {
            return Ok((Some(id), mask));
        }
        if !create {
            return Ok((None, mask));
        }
        let bu = existing.get("owningbusinessunit").and_then(Value::as_uuid).unwrap_or(self.principal.business_unit_id);
        let id = Uuid::now_v7();
        let schema = self.schema.clone();
        crate::seed::insert(
            self.tx,
            &schema,
            "team",
            id,
            self.principal.user_id,
            vec![
                ("name", Value::String(format!("{}+{template}", record.id))),
                ("businessunitid", Value::Ref(EntityRef { entity: "businessunit".into(), id: bu })),
                (
                    "administratorid",
                    Value::Ref(EntityRef { entity: "systemuser".into(), id: self.org.ids.system_user }),
                ),
                ("teamtype", Value::Int(ACCESS_TEAM)),
                ("isdefault", Value::Bool(false)),
                ("teamtemplateid", Value::Ref(EntityRef { entity: "teamtemplate".into(), id: template })),
                ("regardingobjectid", Value::Ref(record.clone())),
            ],
        )?;
        self.audit(crate::AuditAction::Create, Some(&EntityRef { entity: "team".into(), id }), &[])?;
        Ok((Some(id), mask))
    }

    /// A deleted record takes its access teams with it.
    pub(crate) fn drop_record_teams(&mut self, record: Uuid) -> Result<()> {
        let teams = self.query_system(
            "team",
            &format!("$select=teamid&$filter=teamtype eq {ACCESS_TEAM} and _regardingobjectid_value eq {record}"),
        )?;
        for team in teams.iter().filter_map(|t| t.get("teamid")).filter_map(Value::as_uuid) {
            self.tx.execute("DELETE FROM teammembership WHERE teamid = $1", &[Param::uuid(team)])?;
            let entity = self.entity("team")?;
            self.delete_cascade(&entity, team, &mut std::collections::HashSet::new())?;
            self.tx.next_counter("security")?;
        }
        Ok(())
    }
}

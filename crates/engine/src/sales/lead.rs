//! Lead qualification (`QualifyLead`): the lead becomes an account, a
//! contact and an opportunity as the caller asks, each pointing back at it
//! through `originatingleadid`; likely duplicates are reported or linked.

use relata_metadata::{Entity, EntityRef, Value};
use relata_query::options::{parse_query_options, string_literal as odata_string};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::session::{Fields, RecordInput, Session};

/// `QualifyLead`'s parameters. `link_existing` is Relata's: with it, a
/// duplicate account or contact found on the way is used instead of
/// creating another.
#[derive(Debug, Clone, Default)]
pub struct QualifyLead {
    pub create_account: bool,
    pub create_contact: bool,
    pub create_opportunity: bool,
    pub opportunity_currency: Option<Uuid>,
    pub opportunity_customer: Option<EntityRef>,
    pub status: Option<i64>,
    pub suppress_duplicate_detection: bool,
    pub link_existing: bool,
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::Invalid(msg.into())
}

fn text<'a>(f: &'a Fields, n: &str) -> Option<&'a str> {
    f.get(n).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn reference(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

/// The lead's values for the columns `to` shares with it; lookups other
/// than the currency stay behind (the lead's parent account is not the
/// new account's parent).
fn carried(lead_entity: &Entity, to: &Entity, lead: &Fields) -> Vec<(String, Value)> {
    to.attributes()
        .iter()
        .filter(|a| a.valid_for_create && !a.read_only && a.name != to.primary_id())
        .filter(|a| !a.kind.is_lookup() || a.name == "transactioncurrencyid")
        .filter(|a| !matches!(a.name.as_str(), "statecode" | "statuscode" | "description"))
        .filter(|a| lead_entity.attribute(&a.name).is_some_and(|l| l.kind == a.kind))
        .filter_map(|a| lead.get(&a.name).filter(|v| !v.is_null()).map(|v| (a.name.clone(), v.clone())))
        .collect()
}

impl Session<'_, '_, '_> {
    /// `QualifyLead`: returns the records created.
    pub fn qualify_lead(&mut self, lead_id: Uuid, req: &QualifyLead) -> Result<Vec<EntityRef>> {
        let lead_entity = self.entity("lead")?;
        let lead = self.load(&lead_entity, lead_id)?.ok_or_else(|| crate::session::not_found("lead", lead_id))?;
        self.require(&lead_entity, relata_security::Right::Write, &lead, lead_id)?;
        match lead.get("statecode").and_then(Value::as_i64).unwrap_or(0) {
            0 => {}
            1 => {
                return Err(super::messages::refused(
                    None,
                    "sales.lead_qualified",
                    vec![],
                    "The lead is already qualified.",
                ))
            }
            _ => {
                let english = "The lead is disqualified; reactivate it before qualifying it.";
                return Err(super::messages::refused(None, "sales.lead_disqualified", vec![], english));
            }
        }
        let status = req.status.unwrap_or(3);
        if lead_entity.state_of_status(status as i32).map(|s| s.value) != Some(1) {
            let english = format!("{status} is not a status of a qualified lead.");
            return Err(super::messages::refused(
                None,
                "sales.lead_status",
                vec![("status", status.to_string())],
                english,
            ));
        }
        let mut created = Vec::new();

        let mut account = lead.get("parentaccountid").and_then(Value::as_uuid).filter(|_| req.create_account);
        if req.create_account && account.is_none() {
            let name = text(&lead, "companyname")
                .ok_or_else(|| {
                    let english = "The lead has no company name (companyname) to create an account from.";
                    super::messages::refused(Some("companyname"), "sales.lead_no_company", vec![], english)
                })?
                .to_string();
            let mut checks = vec![format!("name eq {}", odata_string(&name))];
            if let Some(e) = text(&lead, "emailaddress1") {
                checks.push(format!("emailaddress1 eq {}", odata_string(e)));
            }
            account = self.existing_or_new(
                req,
                "account",
                &checks,
                &name,
                |s| {
                    let account_entity = s.entity("account")?;
                    let mut f = carried(&lead_entity, &account_entity, &lead);
                    f.push(("name".into(), Value::String(name.clone())));
                    f.push(("originatingleadid".into(), reference("lead", lead_id)));
                    s.create("account", RecordInput::new(f))
                },
                &mut created,
            )?;
        }

        let mut contact = lead.get("parentcontactid").and_then(Value::as_uuid).filter(|_| req.create_contact);
        if req.create_contact && contact.is_none() {
            let last = text(&lead, "lastname")
                .ok_or_else(|| {
                    let english = "The lead has no last name (lastname) to create a contact from.";
                    super::messages::refused(Some("lastname"), "sales.lead_no_lastname", vec![], english)
                })?
                .to_string();
            let full = text(&lead, "fullname").unwrap_or(&last).to_string();
            let mut checks = Vec::new();
            if let Some(e) = text(&lead, "emailaddress1") {
                checks.push(format!("emailaddress1 eq {}", odata_string(e)));
            }
            for phone in ["telephone1", "mobilephone"] {
                if let Some(p) = text(&lead, phone) {
                    checks.push(format!("(fullname eq {} and {phone} eq {})", odata_string(&full), odata_string(p)));
                }
            }
            contact = self.existing_or_new(
                req,
                "contact",
                &checks,
                &full,
                |s| {
                    let contact_entity = s.entity("contact")?;
                    let mut f = carried(&lead_entity, &contact_entity, &lead);
                    f.push(("originatingleadid".into(), reference("lead", lead_id)));
                    if let Some(a) = account {
                        f.push(("parentcustomerid".into(), reference("account", a)));
                    }
                    s.create("contact", RecordInput::new(f))
                },
                &mut created,
            )?;
        }

        let mut opportunity = None;
        if req.create_opportunity {
            let customer = req
                .opportunity_customer
                .clone()
                .or_else(|| account.map(|a| EntityRef { entity: "account".into(), id: a }))
                .or_else(|| contact.map(|c| EntityRef { entity: "contact".into(), id: c }));
            if customer.as_ref().is_some_and(|c| c.entity != "account" && c.entity != "contact") {
                return Err(invalid("OpportunityCustomerId must be an account or a contact."));
            }
            let opp_entity = self.entity("opportunity")?;
            let mut f = carried(&lead_entity, &opp_entity, &lead);
            f.retain(|(k, _)| k != "emailaddress1");
            let subject = text(&lead, "subject").or(text(&lead, "fullname")).unwrap_or("Opportunity").to_string();
            f.push(("name".into(), Value::String(subject)));
            f.push(("originatingleadid".into(), reference("lead", lead_id)));
            if let Some(d) = lead.get("description").filter(|v| !v.is_null()) {
                f.push(("description".into(), d.clone()));
            }
            if let Some(v) = lead.get("estimatedamount").filter(|v| !v.is_null()) {
                f.push(("estimatedvalue".into(), v.clone()));
            }
            if let Some(c) = req.opportunity_currency {
                f.retain(|(k, _)| k != "transactioncurrencyid");
                f.push(("transactioncurrencyid".into(), reference("transactioncurrency", c)));
            }
            if let Some(c) = &customer {
                f.push(("customerid".into(), Value::Ref(c.clone())));
            }
            if let Some(a) = account.or_else(|| customer.as_ref().filter(|c| c.entity == "account").map(|c| c.id)) {
                f.push(("parentaccountid".into(), reference("account", a)));
            }
            if let Some(c) = contact {
                f.push(("parentcontactid".into(), reference("contact", c)));
            }
            let id = self.create("opportunity", RecordInput::new(f))?;
            created.push(EntityRef { entity: "opportunity".into(), id });
            opportunity = Some(id);
        }

        let mut update = vec![("statecode".into(), Value::Int(1)), ("statuscode".into(), Value::Int(status))];
        if lead.get("parentaccountid").is_none_or(Value::is_null) {
            if let Some(a) = account {
                update.push(("parentaccountid".into(), reference("account", a)));
            }
        }
        if lead.get("parentcontactid").is_none_or(Value::is_null) {
            if let Some(c) = contact {
                update.push(("parentcontactid".into(), reference("contact", c)));
            }
        }
        if let Some(o) = opportunity {
            update.push(("qualifyingopportunityid".into(), reference("opportunity", o)));
        }
        self.as_action("QualifyLead", |s| {
            s.update("lead", lead_id, RecordInput::new(update), Default::default(), false).map(|_| ())
        })?;
        Ok(created)
    }

    /// Duplicate detection on the way: a visible record matching any of
    /// `checks` is linked (with `link_existing`), ignored (with
    /// `suppress_duplicate_detection`) or reported.
    fn existing_or_new(
        &mut self,
        req: &QualifyLead,
        entity: &str,
        checks: &[String],
        name: &str,
        create: impl FnOnce(&mut Self) -> Result<Uuid>,
        created: &mut Vec<EntityRef>,
    ) -> Result<Option<Uuid>> {
        if !req.suppress_duplicate_detection && !checks.is_empty() {
            let pk = format!("{entity}id");
            let query = format!("$select={pk}&$filter=statecode eq 0 and ({})&$top=5", checks.join(" or "));
            let opts = parse_query_options(&query).map_err(|e| invalid(format!("duplicate check: {e}")))?;
            let found = self.query(entity, &opts, Some(5), None)?;
            let ids: Vec<Uuid> =
                found.records.iter().filter_map(|r| r.values.iter().find(|(k, _)| *k == pk)?.1.as_uuid()).collect();
            if let Some(first) = ids.first() {
                if req.link_existing {
                    return Ok(Some(*first));
                }
                return Err(EngineError::Conflict(format!(
                    "A duplicate {entity} already exists for '{name}' ({}). Set LinkExisting to use it, or \
                     SuppressDuplicateDetection to create another.",
                    ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let id = create(self)?;
        created.push(EntityRef { entity: entity.into(), id });
        Ok(Some(id))
    }
}

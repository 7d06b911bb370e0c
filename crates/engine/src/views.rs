//! The standard system views (`savedquery`), as data: an entity, a name,
//! conditions and columns, stored as FetchXML and a grid layout the way
//! Dataverse stores them. Seeded once by name; administrators may change
//! them afterwards.

use relata_metadata::{Schema, Value};
use relata_store::{Param, Storage, Tx};
use uuid::Uuid;

use crate::error::Result;
use crate::org::OrgIds;
use crate::seed::insert;

/// A system view: `conditions` are FetchXML `<condition>` attribute
/// strings (`attribute="statecode" operator="eq" value="0"`).
pub struct SystemView {
    pub entity: &'static str,
    pub name: &'static str,
    pub is_default: bool,
    pub conditions: &'static [&'static str],
    pub columns: &'static [&'static str],
    /// `(column, descending)`.
    pub order: (&'static str, bool),
}

pub(crate) const ACTIVE: &str = r#"attribute="statecode" operator="eq" value="0""#;
pub(crate) const MINE: &str = r#"attribute="ownerid" operator="eq-userid""#;
pub(crate) const LINE_COLUMNS: &[&str] =
    &["productid", "quantity", "uomid", "priceperunit", "manualdiscountamount", "tax", "extendedamount"];

pub const SYSTEM_VIEWS: &[SystemView] = &[
    SystemView {
        entity: "account",
        name: "Active Accounts",
        is_default: true,
        conditions: &[ACTIVE],
        columns: &["name", "telephone1", "address1_city", "primarycontactid", "ownerid"],
        order: ("name", false),
    },
    SystemView {
        entity: "account",
        name: "My Active Accounts",
        is_default: false,
        conditions: &[ACTIVE, MINE],
        columns: &["name", "telephone1", "address1_city", "primarycontactid"],
        order: ("name", false),
    },
    SystemView {
        entity: "account",
        name: "Inactive Accounts",
        is_default: false,
        conditions: &[r#"attribute="statecode" operator="eq" value="1""#],
        columns: &["name", "telephone1", "address1_city", "ownerid"],
        order: ("name", false),
    },
    SystemView {
        entity: "contact",
        name: "Active Contacts",
        is_default: true,
        conditions: &[ACTIVE],
        columns: &["fullname", "parentcustomerid", "emailaddress1", "telephone1", "ownerid"],
        order: ("fullname", false),
    },
    SystemView {
        entity: "contact",
        name: "My Active Contacts",
        is_default: false,
        conditions: &[ACTIVE, MINE],
        columns: &["fullname", "parentcustomerid", "emailaddress1", "telephone1"],
        order: ("fullname", false),
    },
    SystemView {
        entity: "asyncoperation",
        name: "All System Jobs",
        is_default: true,
        conditions: &[],
        columns: &["name", "operationtype", "statuscode", "postponeuntil", "completedon", "retrycount", "ownerid"],
        order: ("createdon", true),
    },
    SystemView {
        entity: "asyncoperation",
        name: "Failed System Jobs",
        is_default: false,
        conditions: &[r#"attribute="statuscode" operator="eq" value="31""#],
        columns: &["name", "operationtype", "completedon", "message", "ownerid"],
        order: ("completedon", true),
    },
    SystemView {
        entity: "activitypointer",
        name: "My Open Activities",
        is_default: true,
        conditions: &[ACTIVE, MINE],
        columns: &["subject", "activitytypecode", "regardingobjectid", "scheduledend", "prioritycode"],
        order: ("scheduledend", false),
    },
];

/// The values of `in` conditions, which need `<value>` children.
fn in_values(view: &SystemView) -> &'static [&'static str] {
    match (view.entity, view.name) {
        ("quote", "Active Quotes") => &["0", "1"],
        _ => &[],
    }
}

impl SystemView {
    pub fn fetchxml(&self) -> String {
        let mut x = format!(r#"<fetch version="1.0" mapping="logical"><entity name="{}">"#, self.entity);
        for c in self.columns {
            x.push_str(&format!(r#"<attribute name="{c}"/>"#));
        }
        x.push_str(&format!(r#"<order attribute="{}" descending="{}"/>"#, self.order.0, self.order.1));
        if !self.conditions.is_empty() {
            x.push_str(r#"<filter type="and">"#);
            for c in self.conditions {
                if c.contains(r#"operator="in""#) {
                    x.push_str(&format!("<condition {c}>"));
                    for v in in_values(self) {
                        x.push_str(&format!("<value>{v}</value>"));
                    }
                    x.push_str("</condition>");
                } else {
                    x.push_str(&format!("<condition {c}/>"));
                }
            }
            x.push_str("</filter>");
        }
        x.push_str("</entity></fetch>");
        x
    }

    pub fn layoutxml(&self, schema: &Schema) -> String {
        let id = schema.entity(self.entity).map(|e| e.primary_id().to_string()).unwrap_or_default();
        let mut x =
            format!(r#"<grid name="resultset" jump="{}" select="1"><row name="result" id="{id}">"#, self.columns[0]);
        for c in self.columns {
            x.push_str(&format!(r#"<cell name="{c}" width="150"/>"#));
        }
        x.push_str("</row></grid>");
        x
    }
}

/// Seeds the standard views that do not exist yet (by entity and name).
pub(crate) fn seed(tx: &mut Tx<'_>, schema: &Schema, ids: &OrgIds, modules: &[&SystemView]) -> Result<()> {
    for view in SYSTEM_VIEWS.iter().chain(modules.iter().copied()) {
        if schema.entity(view.entity).is_none() {
            continue;
        }
        let exists = tx.query_one(
            "SELECT savedqueryid FROM savedquery WHERE returnedtypecode = $1 AND name = $2",
            &[Param::text(view.entity), Param::text(view.name)],
            &[Storage::Uuid],
        )?;
        if exists.is_some() {
            continue;
        }
        insert(
            tx,
            schema,
            "savedquery",
            Uuid::now_v7(),
            ids.system_user,
            vec![
                ("name", Value::String(view.name.into())),
                ("returnedtypecode", Value::String(view.entity.into())),
                ("querytype", Value::Int(0)),
                ("isdefault", Value::Bool(view.is_default)),
                ("fetchxml", Value::String(view.fetchxml())),
                ("layoutxml", Value::String(view.layoutxml(schema))),
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column a standard view names exists, and every view's query
    /// parses, so a schema rename cannot silently break a view.
    #[test]
    fn standard_views_name_real_columns_and_parse() {
        let modules = crate::modules::Modules::build(&crate::modules::standard()).expect("modules register");
        let (entities, sets) = relata_metadata::definitions_with(modules.schema_files()).expect("standard schema");
        let schema = Schema::build(entities, sets).expect("schema builds");
        for v in SYSTEM_VIEWS.iter().chain(modules.views().iter().copied()) {
            let e = schema.entity(v.entity).unwrap_or_else(|| panic!("{}: no entity {}", v.name, v.entity));
            for c in v.columns.iter().chain([&v.order.0]) {
                assert!(e.attribute(c).is_some(), "{}: no column {c} on {}", v.name, v.entity);
            }
            let q = relata_query::fetchxml::parse(&v.fetchxml()).unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(q.entity, v.entity);
            assert_eq!(relata_query::fetchxml::layout_columns(&v.layoutxml(&schema)).unwrap(), v.columns);
            relata_query::options::parse_query_options(&q.to_odata()).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        }
        assert_eq!(SYSTEM_VIEWS.iter().filter(|v| v.entity == "account" && v.is_default).count(), 1);
    }
}

//! Custom entities and attributes, added at run time. They are stored as
//! metadata, their tables and columns are created in the same transaction,
//! and every process picks up the new schema through the schema version.

use relata_metadata::{AttrKind, AttributeDef, EntityDef};
use relata_security::Principal;
use relata_store::{drop_columns, sync_schema, Param, Tx};

use crate::error::{EngineError, Result};
use crate::org::{build_schema, load_custom, CustomMetadata, Org};
use crate::session::Session;

pub type NewEntity = EntityDef;
pub type NewAttribute = AttributeDef;

fn check_name(kind: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 50
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if !ok {
        return Err(EngineError::Invalid(format!(
            "the {kind} name '{name}' is not valid: use lowercase letters, digits and '_' (at most 50), starting with a letter"
        )));
    }
    match name.split_once('_') {
        Some((prefix, rest)) if !prefix.is_empty() && !rest.is_empty() => Ok(()),
        _ => Err(EngineError::Invalid(format!(
            "the custom {kind} name '{name}' needs a customization prefix, e.g. 'new_{name}'"
        ))),
    }
}

fn check_attribute(a: &mut AttributeDef) -> Result<()> {
    check_name("attribute", &a.name)?;
    a.is_custom = true;
    if a.schema_name.is_empty() {
        a.schema_name = a.name.clone();
    }
    match a.kind {
        AttrKind::String => {
            let n = a.max_length.unwrap_or(100);
            if !(1..=4000).contains(&n) {
                return Err(EngineError::Invalid("MaxLength of a text column must be between 1 and 4000".into()));
            }
            a.max_length = Some(n);
        }
        AttrKind::Memo => {
            let n = a.max_length.unwrap_or(2000);
            if !(1..=1_048_576).contains(&n) {
                return Err(EngineError::Invalid(
                    "MaxLength of a multiline text column must be between 1 and 1048576".into(),
                ));
            }
            a.max_length = Some(n);
        }
        AttrKind::Decimal | AttrKind::Money | AttrKind::Double => {
            let p = a.precision.unwrap_or(2);
            if p > 10 {
                return Err(EngineError::Invalid("Precision must be between 0 and 10".into()));
            }
            a.precision = Some(p);
            // Exact storage in SQLite is a 64-bit integer scaled by 10^precision.
            if a.kind == AttrKind::Decimal {
                let limit = rust_decimal::Decimal::from(9_000_000_000_000_000_000u64 / 10u64.pow(p));
                let max = a.max.unwrap_or(rust_decimal::Decimal::from(100_000_000_000i64)).min(limit);
                let min = a.min.unwrap_or(-rust_decimal::Decimal::from(100_000_000_000i64)).max(-limit);
                a.max = Some(max);
                a.min = Some(min);
            }
        }
        AttrKind::Picklist | AttrKind::MultiSelectPicklist if a.options.is_empty() && a.option_set.is_none() => {
            return Err(EngineError::Invalid(format!("the choice column '{}' needs options", a.name)));
        }
        AttrKind::Lookup | AttrKind::Customer if a.targets.is_empty() => {
            return Err(EngineError::Invalid(format!("the lookup '{}' needs a target entity", a.name)));
        }
        AttrKind::State | AttrKind::Status | AttrKind::Owner | AttrKind::Uniqueidentifier | AttrKind::EntityName => {
            return Err(EngineError::Invalid(format!("columns of type {} cannot be added", a.kind.dataverse_name())));
        }
        _ => {}
    }
    Ok(())
}

fn require_customizer(p: &Principal, privilege: &str) -> Result<()> {
    if p.has(privilege) {
        Ok(())
    } else {
        Err(crate::session::missing_global(p, privilege))
    }
}

/// Columns field security cannot apply to: keys, names and what the
/// platform itself maintains.
const UNSECURABLE: &[&str] = &[
    "ownerid",
    "owningbusinessunit",
    "createdon",
    "createdby",
    "modifiedon",
    "modifiedby",
    "versionnumber",
    "statecode",
    "statuscode",
];

impl Org {
    /// Adds a custom entity in its own transaction (CLI).
    pub fn create_entity(&self, principal: &Principal, def: EntityDef) -> Result<()> {
        self.write(principal, |s| s.create_entity(def))
    }

    /// Adds a custom attribute in its own transaction (CLI).
    pub fn create_attribute(&self, principal: &Principal, entity: &str, attr: AttributeDef) -> Result<()> {
        self.write(principal, |s| s.create_attribute(entity, attr))
    }
}

impl Session<'_, '_, '_> {
    /// Adds a custom entity (with its primary name attribute among its attributes).
    pub fn create_entity(&mut self, mut def: EntityDef) -> Result<()> {
        let principal = self.principal;
        require_customizer(principal, "prvCreateEntity")?;
        check_name("entity", &def.name)?;
        if self.schema.entity(&def.name).is_some() {
            return Err(EngineError::Conflict(format!("An entity named '{}' already exists.", def.name)));
        }
        def.is_custom = true;
        if def.schema_name.is_empty() {
            def.schema_name = def.name.clone();
        }
        if def.entity_set.is_empty() {
            def.entity_set = format!("{}s", def.name);
        }
        def.primary_id = format!("{}id", def.name);
        def.table = None;
        def.is_intersect = false;
        if !def.attributes.iter().any(|a| a.name == def.primary_name && a.kind == AttrKind::String) {
            return Err(EngineError::Invalid(format!(
                "the primary name column '{}' must be one of the entity's text columns",
                def.primary_name
            )));
        }
        for a in &mut def.attributes {
            check_attribute(a)?;
        }
        let mut extra = Vec::new();
        let names: Vec<String> = def.attributes.iter().map(|a| a.name.clone()).collect();
        for a in &mut def.attributes {
            let has = |n: &str| names.iter().any(|x| x == n) || extra.iter().any(|x: &AttributeDef| x.name == n);
            let more = money_companions(&def.name, has, a);
            extra.extend(more);
        }
        def.attributes.extend(extra);
        let name = def.name.clone();
        self.change_metadata(|custom| {
            custom.entities.push(def.clone());
            Ok(vec![("entity".into(), name.clone(), serde_json::to_string(&def).expect("serializable"))])
        })
    }

    /// Adds a custom attribute to an entity, system or custom.
    pub fn create_attribute(&mut self, entity: &str, mut attr: AttributeDef) -> Result<()> {
        require_customizer(self.principal, "prvCreateAttribute")?;
        check_attribute(&mut attr)?;
        let schema = self.schema.clone();
        let e =
            schema.entity(entity).ok_or_else(|| EngineError::not_found(format!("Entity '{entity}' does not exist")))?;
        if e.def.is_intersect {
            return Err(EngineError::Invalid("columns cannot be added to a relationship's link table".into()));
        }
        if e.attribute(&attr.name).is_some() {
            return Err(EngineError::Conflict(format!("'{entity}' already has a column named '{}'", attr.name)));
        }
        if attr.secured {
            return Err(EngineError::Invalid("secure a column after adding it (set IsSecured on the column)".into()));
        }
        let entity = entity.to_string();
        let companions = money_companions(&entity, |n| e.attribute(n).is_some(), &mut attr);
        self.change_metadata(|custom| {
            let mut all = vec![attr.clone()];
            all.extend(companions);
            if let Some(def) = custom.entities.iter_mut().find(|d| d.name == entity) {
                // Attributes of custom entities live in the entity's own definition.
                def.attributes.extend(all);
                return Ok(vec![("entity".into(), entity.clone(), serde_json::to_string(def).expect("serializable"))]);
            }
            let mut rows = Vec::new();
            for a in all {
                rows.push((
                    "attribute".into(),
                    format!("{entity}.{}", a.name),
                    serde_json::to_string(&a).expect("serializable"),
                ));
                custom.attributes.push((entity.clone(), a));
            }
            Ok(rows)
        })
    }

    /// Removes a custom attribute (with its `_base` twin) and drops its
    /// columns. System attributes and a custom entity's primary name stay.
    pub fn delete_attribute(&mut self, entity: &str, name: &str) -> Result<()> {
        require_customizer(self.principal, "prvDeleteAttribute")?;
        let schema = self.schema.clone();
        let (e, a) = column(&schema, entity, name)?;
        if !a.is_custom || a.read_only {
            return Err(EngineError::Invalid(format!(
                "'{entity}.{name}' is not a custom column and cannot be deleted"
            )));
        }
        if e.def.primary_name == name {
            return Err(EngineError::Invalid(format!(
                "'{name}' is the primary name of '{entity}' and cannot be deleted"
            )));
        }
        let mut names = vec![a.name.clone()];
        names.extend(a.base_of.clone());
        let mut columns: Vec<String> = names.clone();
        if a.is_polymorphic() {
            columns.push(a.type_column());
        }
        let table = e.table().to_string();
        let entity = entity.to_string();
        self.change_metadata(|custom| {
            if let Some(def) = custom.entities.iter_mut().find(|d| d.name == entity) {
                def.attributes.retain(|x| !names.contains(&x.name));
                return Ok(vec![("entity".into(), entity.clone(), serde_json::to_string(def).expect("serializable"))]);
            }
            custom.attributes.retain(|(en, x)| !(en == &entity && names.contains(&x.name)));
            // An empty definition removes the stored row.
            let mut rows: Vec<(String, String, String)> =
                names.iter().map(|n| ("attribute".to_string(), format!("{entity}.{n}"), String::new())).collect();
            rows.extend(names.iter().map(|n| ("secured".to_string(), format!("{entity}.{n}"), String::new())));
            Ok(rows)
        })?;
        drop_columns(self.tx, &table, &columns)?;
        Ok(())
    }

    /// Turns field security on or off for a column (`IsSecured`). Secured
    /// values are visible only to System Administrators and to principals
    /// whose field security profiles allow it.
    pub fn set_secured(&mut self, entity: &str, name: &str, secured: bool) -> Result<()> {
        require_customizer(self.principal, "prvWriteAttribute")?;
        let schema = self.schema.clone();
        let (e, a) = column(&schema, entity, name)?;
        if !can_be_secured(e, a) {
            return Err(EngineError::Invalid(format!(
                "'{entity}.{name}' cannot be secured: keys, primary names and system columns stay visible"
            )));
        }
        if a.secured == secured {
            return Ok(());
        }
        let key = format!("{entity}.{name}");
        self.change_metadata(|custom| {
            custom.secured.retain(|k| k != &key);
            if secured {
                custom.secured.push(key.clone());
            }
            Ok(vec![("secured".into(), key.clone(), if secured { "true".into() } else { String::new() })])
        })?;
        self.tx.next_counter("security")?;
        Ok(())
    }

    /// Applies a metadata change in this transaction: rebuild and validate
    /// the schema, store the definition, alter the tables, bump the schema
    /// version. This session works with the new schema at once; other
    /// requests get it when the transaction commits.
    fn change_metadata(
        &mut self,
        change: impl FnOnce(&mut CustomMetadata) -> Result<Vec<(String, String, String)>>,
    ) -> Result<()> {
        let (schema, version) = apply_change(self.tx, self.org.modules(), change)?;
        crate::privileges::sync_privileges(self.tx, &schema, self.org.ids.system_administrator_role)?;
        let schema = std::sync::Arc::new(schema);
        self.schema = schema.clone();
        self.changed_schema = Some((schema, version));
        Ok(())
    }
}

fn apply_change(
    tx: &mut Tx<'_>,
    modules: &crate::modules::Modules,
    change: impl FnOnce(&mut CustomMetadata) -> Result<Vec<(String, String, String)>>,
) -> Result<(relata_metadata::Schema, i64)> {
    // Taking the next schema version first locks the counter row, so
    // concurrent changes queue here and each sees the ones before it.
    let version = tx.next_counter("schema")?;
    let mut custom = load_custom(tx)?;
    let rows = change(&mut custom)?;
    let schema = build_schema(custom, modules)?;
    for (kind, name, definition) in rows {
        tx.execute(
            "DELETE FROM relata_metadata WHERE kind = $1 AND name = $2",
            &[Param::text(kind.clone()), Param::text(name.clone())],
        )?;
        if definition.is_empty() {
            continue;
        }
        tx.execute(
            "INSERT INTO relata_metadata (kind, name, definition) VALUES ($1, $2, $3)",
            &[Param::text(kind), Param::text(name), Param::text(definition)],
        )?;
    }
    sync_schema(tx, &schema)?;
    Ok((schema, version))
}

/// A money column comes with its `_base` twin and, where the entity has
/// none yet, the transaction currency and exchange rate it converts with.
fn money_companions(entity: &str, has: impl Fn(&str) -> bool, attr: &mut AttributeDef) -> Vec<AttributeDef> {
    if attr.kind != AttrKind::Money {
        return vec![];
    }
    let base_name = format!("{}_base", attr.name);
    attr.base_of = Some(base_name.clone());
    let mut out = Vec::new();
    let mut base = AttributeDef::new(&base_name, AttrKind::Money, &format!("{} (Base)", attr.label.en));
    base.read_only = true;
    base.valid_for_create = false;
    base.valid_for_update = false;
    base.is_custom = true;
    base.precision = attr.precision;
    out.push(base);
    if !has("transactioncurrencyid") {
        let mut c = AttributeDef::new("transactioncurrencyid", AttrKind::Lookup, "Currency");
        c.is_custom = true;
        c.targets = vec![relata_metadata::LookupTarget {
            entity: "transactioncurrency".into(),
            relationship: format!("transactioncurrency_{entity}"),
            nav: "transactioncurrencyid".into(),
            delete: relata_metadata::CascadeDelete::Restrict,
            cascade_assign: relata_metadata::CascadeType::NoCascade,
            cascade_share: relata_metadata::CascadeType::NoCascade,
        }];
        out.push(c);
    }
    if !has("exchangerate") {
        let mut r = AttributeDef::new("exchangerate", AttrKind::Decimal, "Exchange Rate");
        r.is_custom = true;
        r.precision = Some(12);
        r.read_only = true;
        r.valid_for_create = false;
        r.valid_for_update = false;
        r.min = Some(rust_decimal::Decimal::new(1, 12));
        r.max = Some(rust_decimal::Decimal::from(1_000_000i64));
        out.push(r);
    }
    out
}

/// An entity and one of its columns, or NotFound naming what is missing.
fn column<'s>(
    schema: &'s relata_metadata::Schema,
    entity: &str,
    name: &str,
) -> Result<(&'s relata_metadata::Entity, &'s AttributeDef)> {
    let e = schema.entity(entity).ok_or_else(|| EngineError::not_found(format!("Entity '{entity}' does not exist")))?;
    let a =
        e.attribute(name).ok_or_else(|| EngineError::not_found(format!("'{entity}' has no column named '{name}'")))?;
    Ok((e, a))
}

/// Can field security apply to this column?
pub fn can_be_secured(entity: &relata_metadata::Entity, attr: &AttributeDef) -> bool {
    !(attr.name == entity.primary_id()
        || attr.name == entity.def.primary_name
        || UNSECURABLE.contains(&attr.name.as_str())
        || attr.read_only
        || entity.def.is_intersect
        || entity.def.system_managed
        || attr.base_of.is_none() && attr.name.ends_with("_base"))
}

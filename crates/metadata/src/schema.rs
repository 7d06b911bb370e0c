//! The schema registry: every entity with its derived columns, relationships
//! and navigation properties, indexed for the lookups every request makes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::*;
use crate::MetadataError;

/// A one-to-many relationship, derived from one target of a lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct OneToMany {
    pub name: String,
    pub referenced_entity: String,
    pub referencing_entity: String,
    pub referencing_attribute: String,
    /// Single-valued navigation property on the referencing entity.
    pub referencing_nav: String,
    /// Collection-valued navigation property on the referenced entity.
    pub referenced_nav: String,
    pub delete: CascadeDelete,
    pub cascade_assign: CascadeType,
    pub cascade_share: CascadeType,
    pub is_custom: bool,
}

/// What a navigation property name leads to, seen from one entity.
#[derive(Debug, Clone, PartialEq)]
pub enum Nav {
    /// Lookup on this entity pointing at one record of `target`.
    Single { attribute: String, target: String, relationship: String },
    /// Records of `entity` whose `attribute` points at this record.
    Collection { entity: String, attribute: String, relationship: String },
    /// Records of `entity` linked through an intersect table.
    ManyToMany { relationship: String, entity: String, table: String, self_column: String, other_column: String },
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub def: EntityDef,
    attr_index: HashMap<String, usize>,
    navs: HashMap<String, Nav>,
    /// Discriminator value in a shared table (`activitytypecode = 'task'`).
    pub discriminator: Option<String>,
}

impl Entity {
    pub fn name(&self) -> &str {
        &self.def.name
    }
    pub fn table(&self) -> &str {
        self.def.table.as_deref().unwrap_or(&self.def.name)
    }
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attr_index.get(name).map(|&i| &self.def.attributes[i])
    }
    pub fn attributes(&self) -> &[AttributeDef] {
        &self.def.attributes
    }
    pub fn nav(&self, name: &str) -> Option<&Nav> {
        self.navs.get(name)
    }
    pub fn navs(&self) -> impl Iterator<Item = (&String, &Nav)> {
        self.navs.iter()
    }
    pub fn primary_id(&self) -> &str {
        &self.def.primary_id
    }
    pub fn is_owned(&self) -> bool {
        self.def.ownership == Ownership::User
    }
    /// The name privileges use: `Account` in `prvReadAccount`, `Activity`
    /// for every activity type, `User` for systemuser.
    pub fn privilege_subject(&self) -> &str {
        if self.def.is_activity {
            return "Activity";
        }
        self.def.privilege_subject.as_deref().unwrap_or(&self.def.schema_name)
    }
    /// Does the entity have privileges of its own? Unowned entities are
    /// reached through their parent (activity parties) or a global
    /// privilege (audit); intersect entities through their two sides.
    pub fn has_privileges(&self) -> bool {
        !self.def.is_intersect && self.def.ownership != Ownership::None
    }
    /// The license group, defaulted from the kind of entity.
    pub fn license_group(&self) -> LicenseGroup {
        self.def.license_group.unwrap_or(if self.def.is_activity {
            LicenseGroup::Activities
        } else if self.def.is_custom {
            LicenseGroup::Custom
        } else {
            LicenseGroup::Settings
        })
    }
    pub fn has_state(&self) -> bool {
        !self.def.states.is_empty()
    }
    pub fn state(&self, value: i32) -> Option<&StateDef> {
        self.def.states.iter().find(|s| s.value == value)
    }
    /// The state a status reason belongs to.
    pub fn state_of_status(&self, status: i32) -> Option<&StateDef> {
        self.def.states.iter().find(|s| s.statuses.iter().any(|x| x.value == status))
    }
    /// Resolves `_x_value` or a plain attribute name to the attribute.
    pub fn attribute_for_property(&self, prop: &str) -> Option<&AttributeDef> {
        if let Some(inner) = prop.strip_prefix('_').and_then(|p| p.strip_suffix("_value")) {
            return self.attribute(inner).filter(|a| a.kind.is_lookup());
        }
        self.attribute(prop).filter(|a| !a.kind.is_lookup())
    }
    /// The property OData filters and sorts a column by: `_x_value` for a
    /// lookup, the logical name otherwise (the reverse of
    /// `attribute_for_property`).
    pub fn property_name(&self, column: &str) -> String {
        match self.attribute(column) {
            Some(a) if a.kind.is_lookup() => a.lookup_value_name(),
            _ => column.to_string(),
        }
    }
}

/// The whole schema. Immutable; a metadata change builds a new one.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    entities: Vec<Arc<Entity>>,
    by_name: HashMap<String, usize>,
    by_set: HashMap<String, usize>,
    option_sets: HashMap<String, Arc<OptionSetDef>>,
    one_to_many: Vec<OneToMany>,
    many_to_many: Vec<ManyToManyDef>,
    privileges: Vec<GlobalPrivilegeDef>,
}

fn label(en: &str, ru: &str) -> Label {
    Label { en: en.into(), ru: Some(ru.into()) }
}

fn lookup(name: &str, kind: AttrKind, text: (&str, &str), targets: Vec<LookupTarget>) -> AttributeDef {
    let mut a = AttributeDef::new(name, kind, text.0);
    a.label = label(text.0, text.1);
    a.targets = targets;
    a.indexed = true;
    a
}

fn target(entity: &str, relationship: String, nav: String, delete: CascadeDelete) -> LookupTarget {
    LookupTarget {
        entity: entity.into(),
        relationship,
        nav,
        delete,
        cascade_assign: CascadeType::NoCascade,
        cascade_share: CascadeType::NoCascade,
    }
}

fn read_only(mut a: AttributeDef) -> AttributeDef {
    a.read_only = true;
    a.valid_for_create = false;
    a.valid_for_update = false;
    a
}

/// `Tasks`, `Phonecalls`… the suffix Dataverse uses in activity relationship names.
fn activity_plural(e: &EntityDef) -> String {
    match e.name.as_str() {
        "activitypointer" => "ActivityPointers".into(),
        "phonecall" => "Phonecalls".into(),
        "fax" => "Faxes".into(),
        _ => {
            let mut s = e.schema_name.clone();
            s.push('s');
            s
        }
    }
}

impl Schema {
    /// Builds a schema from entity definitions and global option sets: adds
    /// the system columns every entity of its kind carries, wires generic
    /// relationships (owner, audit, regarding, notes, activity parties),
    /// and checks the result.
    pub fn build(mut defs: Vec<EntityDef>, option_sets: Vec<OptionSetDef>) -> Result<Schema, MetadataError> {
        for d in &mut defs {
            if d.schema_name.is_empty() {
                d.schema_name = d.name.clone();
            }
            if d.table.is_none() && d.is_activity && d.name != "activitypointer" {
                d.table = Some("activitypointer".into());
            }
        }
        let notes_targets: Vec<(String, String)> =
            defs.iter().filter(|d| d.has_notes).map(|d| (d.name.clone(), d.schema_name.clone())).collect();
        let regarding_targets: Vec<(String, String)> =
            defs.iter().filter(|d| d.has_activities).map(|d| (d.name.clone(), d.schema_name.clone())).collect();
        let activity_entities: Vec<String> = defs.iter().filter(|d| d.is_activity).map(|d| d.name.clone()).collect();
        let pointer_attrs: Vec<AttributeDef> =
            defs.iter().find(|d| d.name == "activitypointer").map(|d| d.attributes.clone()).unwrap_or_default();

        for d in &mut defs {
            // Activities inherit the activity base's columns.
            if d.is_activity && d.name != "activitypointer" {
                let own: Vec<String> = d.attributes.iter().map(|a| a.name.clone()).collect();
                let mut inherited: Vec<AttributeDef> =
                    pointer_attrs.iter().filter(|a| !own.contains(&a.name)).cloned().collect();
                inherited.append(&mut d.attributes);
                d.attributes = inherited;
            }
            add_system_attributes(d);
            if d.is_activity {
                let plural = activity_plural(d);
                let name = d.name.clone();
                if let Some(reg) = d.attributes.iter_mut().find(|a| a.name == "regardingobjectid") {
                    reg.targets = regarding_targets
                        .iter()
                        .map(|(t, ts)| {
                            target(
                                t,
                                format!("{ts}_{plural}"),
                                format!("regardingobjectid_{t}_{name}"),
                                CascadeDelete::Cascade,
                            )
                        })
                        .collect();
                    // Assigning a record reassigns its open activities;
                    // sharing it shares all of them.
                    for t in &mut reg.targets {
                        t.cascade_assign = CascadeType::Active;
                        t.cascade_share = CascadeType::Cascade;
                    }
                }
            }
            if d.name == "annotation" {
                if let Some(obj) = d.attributes.iter_mut().find(|a| a.name == "objectid") {
                    obj.targets = notes_targets
                        .iter()
                        .map(|(t, ts)| {
                            let rel = if ts.chars().next().is_some_and(|c| c.is_uppercase()) {
                                format!("{ts}_Annotation")
                            } else {
                                format!("{ts}_Annotations")
                            };
                            let mut t = target(t, rel, format!("objectid_{t}"), CascadeDelete::Cascade);
                            t.cascade_assign = CascadeType::Cascade;
                            t.cascade_share = CascadeType::Cascade;
                            t
                        })
                        .collect();
                }
            }
            if d.name == "activityparty" {
                if let Some(act) = d.attributes.iter_mut().find(|a| a.name == "activityid") {
                    act.targets = activity_entities
                        .iter()
                        .map(|t| {
                            target(
                                t,
                                format!("{t}_activity_parties"),
                                format!("activityid_{t}"),
                                CascadeDelete::Cascade,
                            )
                        })
                        .collect();
                }
            }
            for a in &mut d.attributes {
                if a.schema_name.is_empty() {
                    a.schema_name = a.name.clone();
                }
                if a.kind.is_option() && a.option_set.is_none() {
                    a.option_set = Some(format!("{}_{}", d.name, a.name));
                }
            }
            add_base_twins(d);
        }

        let mut schema = Schema::default();
        for os in option_sets {
            schema.option_sets.insert(os.name.clone(), Arc::new(os));
        }
        // Local option sets (including state and status).
        for d in &defs {
            for a in &d.attributes {
                let set_name = a.option_set.clone().unwrap_or_default();
                let options = match a.kind {
                    AttrKind::State => d
                        .states
                        .iter()
                        .map(|s| OptionDef { value: s.value, label: s.label.clone(), color: None })
                        .collect(),
                    AttrKind::Status => d
                        .states
                        .iter()
                        .flat_map(|s| s.statuses.iter())
                        .map(|s| OptionDef { value: s.value, label: s.label.clone(), color: None })
                        .collect(),
                    AttrKind::Picklist | AttrKind::MultiSelectPicklist if !a.options.is_empty() => a.options.clone(),
                    _ => continue,
                };
                schema.option_sets.insert(
                    set_name.clone(),
                    Arc::new(OptionSetDef {
                        name: set_name,
                        display_name: a.label.clone(),
                        is_global: false,
                        is_custom: a.is_custom,
                        options,
                    }),
                );
            }
        }

        for d in &defs {
            for a in d.attributes.iter().filter(|a| a.kind.is_lookup()) {
                for t in &a.targets {
                    schema.one_to_many.push(OneToMany {
                        name: t.relationship.clone(),
                        referenced_entity: t.entity.clone(),
                        referencing_entity: d.name.clone(),
                        referencing_attribute: a.name.clone(),
                        referencing_nav: t.nav.clone(),
                        referenced_nav: t.relationship.clone(),
                        delete: t.delete,
                        cascade_assign: t.cascade_assign,
                        cascade_share: t.cascade_share,
                        is_custom: a.is_custom || d.is_custom,
                    });
                }
            }
            schema.many_to_many.extend(d.many_to_many.iter().cloned());
        }

        for d in defs {
            let mut attr_index = HashMap::new();
            for (i, a) in d.attributes.iter().enumerate() {
                if attr_index.insert(a.name.clone(), i).is_some() {
                    return Err(MetadataError::Invalid(format!(
                        "entity '{}' declares attribute '{}' twice",
                        d.name, a.name
                    )));
                }
            }
            let discriminator = (d.is_activity && d.name != "activitypointer").then(|| d.name.clone());
            let idx = schema.entities.len();
            if schema.by_name.insert(d.name.clone(), idx).is_some() {
                return Err(MetadataError::Invalid(format!("entity '{}' is defined twice", d.name)));
            }
            if !d.is_intersect && schema.by_set.insert(d.entity_set.clone(), idx).is_some() {
                return Err(MetadataError::Invalid(format!("entity set '{}' is used twice", d.entity_set)));
            }
            schema.entities.push(Arc::new(Entity { def: d, attr_index, navs: HashMap::new(), discriminator }));
        }

        // Navigation properties.
        let mut navs: HashMap<String, HashMap<String, Nav>> = HashMap::new();
        for r in &schema.one_to_many {
            if !schema.by_name.contains_key(&r.referenced_entity) {
                return Err(MetadataError::Invalid(format!(
                    "lookup '{}.{}' targets unknown entity '{}'",
                    r.referencing_entity, r.referencing_attribute, r.referenced_entity
                )));
            }
            let single = Nav::Single {
                attribute: r.referencing_attribute.clone(),
                target: r.referenced_entity.clone(),
                relationship: r.name.clone(),
            };
            insert_nav(&mut navs, &r.referencing_entity, &r.referencing_nav, single)?;
            let collection = Nav::Collection {
                entity: r.referencing_entity.clone(),
                attribute: r.referencing_attribute.clone(),
                relationship: r.name.clone(),
            };
            insert_nav(&mut navs, &r.referenced_entity, &r.referenced_nav, collection)?;
        }
        for m in &schema.many_to_many {
            for (me, mc, oe, oc) in [
                (&m.entity1, &m.entity1_column, &m.entity2, &m.entity2_column),
                (&m.entity2, &m.entity2_column, &m.entity1, &m.entity1_column),
            ] {
                if !schema.by_name.contains_key(me.as_str()) || !schema.by_name.contains_key(oe.as_str()) {
                    return Err(MetadataError::Invalid(format!("relationship '{}' names an unknown entity", m.name)));
                }
                let nav = Nav::ManyToMany {
                    relationship: m.name.clone(),
                    entity: oe.clone(),
                    table: m.intersect_table.clone(),
                    self_column: mc.clone(),
                    other_column: oc.clone(),
                };
                if me == oe {
                    navs.entry(me.clone()).or_default().insert(m.name.clone(), nav);
                } else {
                    insert_nav(&mut navs, me, &m.name, nav)?;
                }
            }
        }
        for e in &mut schema.entities {
            if let Some(n) = navs.remove(&e.def.name) {
                Arc::get_mut(e).expect("unshared during build").navs = n;
            }
        }
        for e in &schema.entities {
            for a in e.attributes() {
                if let Some(os) = &a.option_set {
                    if !schema.option_sets.contains_key(os) {
                        return Err(MetadataError::Invalid(format!(
                            "attribute '{}.{}' uses unknown option set '{}'",
                            e.name(),
                            a.name,
                            os
                        )));
                    }
                }
            }
        }
        Ok(schema)
    }

    pub fn entity(&self, name: &str) -> Option<&Arc<Entity>> {
        self.by_name.get(name).map(|&i| &self.entities[i])
    }
    pub fn entity_by_set(&self, set: &str) -> Option<&Arc<Entity>> {
        self.by_set.get(set).map(|&i| &self.entities[i])
    }
    /// Adds the global privileges modules declare.
    pub fn with_privileges(mut self, privileges: Vec<GlobalPrivilegeDef>) -> Result<Schema, MetadataError> {
        for p in &privileges {
            let well_formed = p.name.starts_with("prv") && p.name.chars().all(|c| c.is_ascii_alphanumeric());
            if !well_formed {
                return Err(MetadataError::Invalid(format!(
                    "privilege '{}' must be 'prv' and letters or digits",
                    p.name
                )));
            }
            const RIGHTS: [&str; 8] = ["Create", "Read", "Write", "Delete", "Append", "AppendTo", "Assign", "Share"];
            if !RIGHTS.contains(&p.right.as_str()) {
                return Err(MetadataError::Invalid(format!("privilege '{}': '{}' is not a right", p.name, p.right)));
            }
            if self.privileges.iter().any(|q| q.name == p.name) {
                return Err(MetadataError::Invalid(format!("privilege '{}' is declared twice", p.name)));
            }
            self.privileges.push(p.clone());
        }
        Ok(self)
    }

    /// Global privileges modules declare (the platform's own are the
    /// security crate's).
    pub fn global_privileges(&self) -> &[GlobalPrivilegeDef] {
        &self.privileges
    }

    pub fn entities(&self) -> impl Iterator<Item = &Arc<Entity>> {
        self.entities.iter()
    }
    pub fn option_set(&self, name: &str) -> Option<&Arc<OptionSetDef>> {
        self.option_sets.get(name)
    }
    pub fn option_sets(&self) -> impl Iterator<Item = &Arc<OptionSetDef>> {
        self.option_sets.values()
    }
    pub fn one_to_many(&self) -> &[OneToMany] {
        &self.one_to_many
    }
    pub fn many_to_many(&self) -> &[ManyToManyDef] {
        &self.many_to_many
    }
    /// Relationships that point at `entity` (used by delete and assign cascades).
    pub fn referencing(&self, entity: &str) -> impl Iterator<Item = &OneToMany> {
        let entity = entity.to_string();
        self.one_to_many.iter().filter(move |r| r.referenced_entity == entity)
    }
    pub fn relationship(&self, name: &str) -> Option<&OneToMany> {
        self.one_to_many.iter().find(|r| r.name == name)
    }
    /// The option label of a picklist/state/status value.
    pub fn option_label(&self, attr: &AttributeDef, value: i32) -> Option<&Label> {
        self.option_sets.get(attr.option_set.as_deref()?)?.label(value)
    }
}

fn insert_nav(
    navs: &mut HashMap<String, HashMap<String, Nav>>,
    entity: &str,
    name: &str,
    nav: Nav,
) -> Result<(), MetadataError> {
    let slot = navs.entry(entity.to_string()).or_default();
    if slot.contains_key(name) {
        return Err(MetadataError::Invalid(format!("entity '{entity}' has two navigation properties named '{name}'")));
    }
    slot.insert(name.to_string(), nav);
    Ok(())
}

/// Declares the `_base` twin of every money column that names one in
/// `base_of` but does not declare it, right after its source column.
fn add_base_twins(d: &mut EntityDef) {
    let mut i = 0;
    while i < d.attributes.len() {
        let a = &d.attributes[i];
        if let (AttrKind::Money, Some(base)) = (a.kind, &a.base_of) {
            if !d.attributes.iter().any(|x| &x.name == base) {
                let twin = base_twin(a, base);
                d.attributes.insert(i + 1, twin);
                i += 1;
            }
        }
        i += 1;
    }
}

fn base_twin(source: &AttributeDef, name: &str) -> AttributeDef {
    let mut twin = AttributeDef::new(name, AttrKind::Money, &format!("{} (Base)", source.label.en));
    twin.label.ru = source.label.ru.as_ref().map(|ru| format!("{ru} (базовая валюта)"));
    twin.schema_name = format!("{}_Base", source.schema_name);
    twin.description = Some(format!("Value of the {} in base currency.", source.label.en));
    twin.precision = Some(4);
    twin.min = Some(-crate::money_limit());
    twin.max = Some(crate::money_limit());
    twin.is_custom = source.is_custom;
    // The twin would give a secured value away.
    twin.secured = source.secured;
    read_only(twin)
}

/// Adds the columns every entity of its kind has: primary key, owner,
/// business unit, created/modified by/on, row version, state and status.
fn add_system_attributes(d: &mut EntityDef) {
    let has = |d: &EntityDef, n: &str| d.attributes.iter().any(|a| a.name == n);
    let mut extra: Vec<AttributeDef> = Vec::new();
    if !has(d, &d.primary_id) {
        let mut id = AttributeDef::new(&d.primary_id, AttrKind::Uniqueidentifier, d.label.en.as_str());
        id.valid_for_update = false;
        id.required = RequiredLevel::System;
        extra.push(id);
    }
    d.attributes.splice(0..0, extra.drain(..));
    if d.is_intersect {
        return;
    }
    let set = d.entity_set.clone();
    let n = d.name.clone();
    if d.ownership == Ownership::User && !has(d, "ownerid") {
        let mut owner = lookup(
            "ownerid",
            AttrKind::Owner,
            ("Owner", "Ответственный"),
            vec![
                target("systemuser", format!("user_{set}"), "owninguser".into(), CascadeDelete::Restrict),
                target("team", format!("team_{set}"), "owningteam".into(), CascadeDelete::Restrict),
            ],
        );
        owner.required = RequiredLevel::System;
        extra.push(owner);
        extra.push(read_only(lookup(
            "owningbusinessunit",
            AttrKind::Lookup,
            ("Owning Business Unit", "Подразделение-владелец"),
            vec![target(
                "businessunit",
                format!("business_unit_{set}"),
                "owningbusinessunit".into(),
                CascadeDelete::Restrict,
            )],
        )));
    }
    if d.ownership != Ownership::None || d.is_custom {
        for (col, text) in
            [("createdon", ("Created On", "Дата создания")), ("modifiedon", ("Modified On", "Дата изменения"))]
        {
            if !has(d, col) {
                let mut a = AttributeDef::new(col, AttrKind::DateTime, text.0);
                a.label = label(text.0, text.1);
                a.indexed = col == "modifiedon";
                extra.push(read_only(a));
            }
        }
        for (col, text) in
            [("createdby", ("Created By", "Кем создано")), ("modifiedby", ("Modified By", "Кем изменено"))]
        {
            if !has(d, col) {
                extra.push(read_only(lookup(
                    col,
                    AttrKind::Lookup,
                    text,
                    vec![target("systemuser", format!("lk_{n}_{col}"), col.into(), CascadeDelete::RemoveLink)],
                )));
            }
        }
    }
    if !has(d, "versionnumber") {
        extra.push(read_only(AttributeDef::new("versionnumber", AttrKind::BigInt, "Version Number")));
    }
    if d.is_custom && d.states.is_empty() {
        d.states = vec![
            StateDef {
                value: 0,
                name: "Active".into(),
                label: label("Active", "Активный"),
                default_status: 1,
                statuses: vec![StatusDef { value: 1, label: label("Active", "Активный") }],
                read_only: false,
                changeable_statuses: vec![],
            },
            StateDef {
                value: 1,
                name: "Inactive".into(),
                label: label("Inactive", "Неактивный"),
                default_status: 2,
                statuses: vec![StatusDef { value: 2, label: label("Inactive", "Неактивный") }],
                read_only: false,
                changeable_statuses: vec![],
            },
        ];
    }
    if !d.states.is_empty() {
        if !has(d, "statecode") {
            let mut a = AttributeDef::new("statecode", AttrKind::State, "Status");
            a.label = label("Status", "Состояние");
            a.indexed = true;
            extra.push(a);
        }
        if !has(d, "statuscode") {
            let mut a = AttributeDef::new("statuscode", AttrKind::Status, "Status Reason");
            a.label = label("Status Reason", "Причина состояния");
            extra.push(a);
        }
    }
    d.attributes.extend(extra);
}

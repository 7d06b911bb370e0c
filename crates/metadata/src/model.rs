//! The metadata model. The same structs describe built-in and custom
//! entities; the built-in ones are read from `schema/*.toml`, custom ones from
//! the database, and both go through [`crate::Schema::build`].

use serde::{Deserialize, Serialize};

/// A display label with its translations (English is required; Russian is
/// the second interface language).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "LabelRepr", into = "LabelRepr")]
pub struct Label {
    pub en: String,
    pub ru: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum LabelRepr {
    Plain(String),
    Full { en: String, ru: Option<String> },
}

impl From<LabelRepr> for Label {
    fn from(r: LabelRepr) -> Self {
        match r {
            LabelRepr::Plain(en) => Label { en, ru: None },
            LabelRepr::Full { en, ru } => Label { en, ru },
        }
    }
}
impl From<Label> for LabelRepr {
    fn from(l: Label) -> Self {
        match l.ru {
            None => LabelRepr::Plain(l.en),
            Some(ru) => LabelRepr::Full { en: l.en, ru: Some(ru) },
        }
    }
}
impl Label {
    pub fn new(en: impl Into<String>) -> Self {
        Label { en: en.into(), ru: None }
    }
    /// The label in a language (LCID 1049 = Russian), falling back to English.
    pub fn text(&self, lcid: u32) -> &str {
        match (lcid, &self.ru) {
            (1049, Some(ru)) => ru,
            _ => &self.en,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Ownership {
    /// Owned by a user or team; carries ownerid and owningbusinessunit.
    #[default]
    User,
    /// Belongs to the organization; no owner.
    Organization,
    /// Not owned at all (intersect tables, activity parties).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttrKind {
    String,
    Memo,
    Integer,
    BigInt,
    Decimal,
    Money,
    Double,
    Boolean,
    DateTime,
    Picklist,
    MultiSelectPicklist,
    State,
    Status,
    Lookup,
    Customer,
    Owner,
    Uniqueidentifier,
    /// Binary content (note attachments, images), exchanged as base64.
    File,
    /// The logical name of an entity (e.g. `objecttypecode`).
    EntityName,
}

impl AttrKind {
    pub fn is_lookup(self) -> bool {
        matches!(self, AttrKind::Lookup | AttrKind::Customer | AttrKind::Owner)
    }
    pub fn is_option(self) -> bool {
        matches!(self, AttrKind::Picklist | AttrKind::State | AttrKind::Status)
    }
    /// Dataverse's AttributeType name.
    pub fn dataverse_name(self) -> &'static str {
        match self {
            AttrKind::String => "String",
            AttrKind::Memo => "Memo",
            AttrKind::Integer => "Integer",
            AttrKind::BigInt => "BigInt",
            AttrKind::Decimal => "Decimal",
            AttrKind::Money => "Money",
            AttrKind::Double => "Double",
            AttrKind::Boolean => "Boolean",
            AttrKind::DateTime => "DateTime",
            AttrKind::Picklist => "Picklist",
            AttrKind::MultiSelectPicklist => "Virtual",
            AttrKind::State => "State",
            AttrKind::Status => "Status",
            AttrKind::Lookup => "Lookup",
            AttrKind::Customer => "Customer",
            AttrKind::Owner => "Owner",
            AttrKind::Uniqueidentifier => "Uniqueidentifier",
            AttrKind::File => "String",
            AttrKind::EntityName => "EntityName",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RequiredLevel {
    #[default]
    None,
    Recommended,
    /// Business required: must have a value on create and cannot be cleared.
    Application,
    /// Required by the system (set by the engine when absent).
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CascadeDelete {
    /// Deleting the referenced record deletes the referencing ones.
    Cascade,
    /// Deleting the referenced record clears the lookup.
    #[default]
    RemoveLink,
    /// Deleting the referenced record fails while references exist.
    Restrict,
}

/// How an operation on a referenced record carries over to the records
/// that point at it (Dataverse's `CascadeType`, for assign and share).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum CascadeType {
    #[default]
    NoCascade,
    /// Every referencing record.
    Cascade,
    /// Only referencing records in their first (open/active) state.
    Active,
    /// Only referencing records owned by the referenced record's owner.
    UserOwned,
}

impl CascadeType {
    pub fn name(self) -> &'static str {
        match self {
            CascadeType::NoCascade => "NoCascade",
            CascadeType::Cascade => "Cascade",
            CascadeType::Active => "Active",
            CascadeType::UserOwned => "UserOwned",
        }
    }
    pub fn from_name(s: &str) -> Option<CascadeType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "nocascade" | "none" => CascadeType::NoCascade,
            "cascade" | "all" => CascadeType::Cascade,
            "active" => CascadeType::Active,
            "userowned" => CascadeType::UserOwned,
            _ => return None,
        })
    }
}

// Accepts `true`/`false` (stored definitions of earlier versions) as well
// as the cascade names.
impl<'de> Deserialize<'de> for CascadeType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Flag(bool),
            Name(String),
        }
        match Repr::deserialize(d)? {
            Repr::Flag(true) => Ok(CascadeType::Cascade),
            Repr::Flag(false) => Ok(CascadeType::NoCascade),
            Repr::Name(n) => CascadeType::from_name(&n)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown cascade type '{n}'"))),
        }
    }
}

/// One target of a lookup attribute = one one-to-many relationship.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LookupTarget {
    pub entity: String,
    /// Relationship schema name; also the collection-valued navigation
    /// property on the target (`contact_customer_accounts`).
    pub relationship: String,
    /// Single-valued navigation property on the referencing entity
    /// (`parentcustomerid_account`).
    pub nav: String,
    #[serde(default)]
    pub delete: CascadeDelete,
    /// Assigning the referenced record reassigns the referencing ones.
    #[serde(default)]
    pub cascade_assign: CascadeType,
    /// Sharing the referenced record shares the referencing ones (and a
    /// record linked to a shared parent inherits the parent's shares).
    #[serde(default)]
    pub cascade_share: CascadeType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionDef {
    pub value: i32,
    pub label: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionSetDef {
    pub name: String,
    #[serde(default)]
    pub display_name: Label,
    #[serde(default)]
    pub is_global: bool,
    #[serde(default)]
    pub is_custom: bool,
    pub options: Vec<OptionDef>,
}

impl OptionSetDef {
    pub fn label(&self, value: i32) -> Option<&Label> {
        self.options.iter().find(|o| o.value == value).map(|o| &o.label)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDef {
    pub value: i32,
    pub label: Label,
}

/// A lifecycle state (`statecode`) and the status reasons valid in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateDef {
    pub value: i32,
    /// Invariant name (`Active`, `Inactive`, `Open`, `Won`…).
    pub name: String,
    pub label: Label,
    pub default_status: i32,
    pub statuses: Vec<StatusDef>,
    /// Records in this state cannot be edited (closed, won, submitted):
    /// only their state, status and owner change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Statuses a record may still be moved to while in this read-only
    /// state (a partly paid invoice marked paid in full).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changeable_statuses: Vec<i32>,
}

/// A permitted change of `statecode`. When an entity declares
/// transitions, no other state change is allowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionDef {
    pub from: Vec<i32>,
    pub to: i32,
    /// The actions of the catalog that make the change; empty: an update
    /// of `statecode` may.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// A plain change (no `via`) with a label is offered as a button on the
    /// record page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// The status reason the button sets; without one, the user picks
    /// among the target state's statuses. A record that has it already
    /// is not offered the button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    /// The button's key on the page (`activate`); `state_<to>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl TransitionDef {
    /// The key of its button on the record page.
    pub fn key(&self) -> String {
        self.key.clone().unwrap_or_else(|| format!("state_{}", self.to))
    }
}

/// Where an entity appears in the navigation: an area (`sales`,
/// `service`, `marketing`, `settings`, or a module's own) and its place
/// there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaPlacement {
    pub area: String,
    #[serde(default)]
    pub order: i32,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeDef {
    pub name: String,
    #[serde(default)]
    pub schema_name: String,
    #[serde(rename = "type")]
    pub kind: AttrKind,
    #[serde(default)]
    pub label: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required: RequiredLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<rust_decimal::Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<rust_decimal::Decimal>,
    /// Digits after the decimal point (decimal, money, double).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// String format (`Email`, `Url`, `Phone`, `TextArea`) or datetime
    /// format (`DateOnly`, `DateAndTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Picklist / multi-select / state / status options: a global option set
    /// name, or the entity-local set `<entity>_<attribute>` built from `options`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_set: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<LookupTarget>,
    #[serde(default)]
    pub is_custom: bool,
    /// Computed by the engine (e.g. `fullname`); clients cannot set it.
    #[serde(default)]
    pub read_only: bool,
    #[serde(default = "default_true")]
    pub valid_for_create: bool,
    #[serde(default = "default_true")]
    pub valid_for_update: bool,
    /// Gets a database index.
    #[serde(default)]
    pub indexed: bool,
    /// Field-level security applies to this column.
    #[serde(default)]
    pub secured: bool,
    /// For money columns: the `_base` twin this value converts into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_of: Option<String>,
    /// A lookup that may point at a record of any entity (the audit's
    /// `objectid`): the entity is kept in `<name>type` and no relationship
    /// is formed, so deleting the target leaves the reference alone.
    #[serde(default)]
    pub any_target: bool,
    /// Dataverse's `IsValidForForm`: false for columns kept for clients
    /// but left off forms (deprecated ones, map coordinates).
    #[serde(default = "default_true")]
    pub valid_for_form: bool,
}

impl AttributeDef {
    pub fn new(name: &str, kind: AttrKind, label: &str) -> Self {
        AttributeDef {
            name: name.to_string(),
            schema_name: String::new(),
            kind,
            label: Label::new(label),
            description: None,
            required: RequiredLevel::None,
            max_length: None,
            min: None,
            max: None,
            precision: None,
            format: None,
            option_set: None,
            options: vec![],
            default: None,
            targets: vec![],
            is_custom: false,
            read_only: false,
            valid_for_create: true,
            valid_for_update: true,
            indexed: false,
            secured: false,
            base_of: None,
            any_target: false,
            valid_for_form: true,
        }
    }
    pub fn is_polymorphic(&self) -> bool {
        self.kind.is_lookup() && (self.targets.len() > 1 || self.any_target)
    }
    /// `_parentcustomerid_value`: how Web API exposes a lookup's key.
    pub fn lookup_value_name(&self) -> String {
        format!("_{}_value", self.name)
    }
    /// Name of the companion column that stores the target entity of a
    /// lookup whose targets are more than one.
    pub fn type_column(&self) -> String {
        format!("{}type", self.name)
    }
    pub fn target(&self, entity: &str) -> Option<&LookupTarget> {
        self.targets.iter().find(|t| t.entity == entity)
    }
    pub fn is_date_only(&self) -> bool {
        self.kind == AttrKind::DateTime && self.format.as_deref() == Some("DateOnly")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EntityDef {
    pub name: String,
    #[serde(default)]
    pub schema_name: String,
    pub entity_set: String,
    pub label: Label,
    pub plural_label: Label,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub primary_id: String,
    pub primary_name: String,
    #[serde(default)]
    pub ownership: Ownership,
    #[serde(default)]
    pub is_custom: bool,
    #[serde(default)]
    pub is_activity: bool,
    /// Many-to-many intersect entity (no API surface of its own).
    #[serde(default)]
    pub is_intersect: bool,
    /// Notes (annotations) can be attached to its records.
    #[serde(default)]
    pub has_notes: bool,
    /// Activities can be regarding its records.
    #[serde(default)]
    pub has_activities: bool,
    #[serde(default)]
    pub object_type_code: i32,
    /// Storage table; activities share `activitypointer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default)]
    pub states: Vec<StateDef>,
    #[serde(default)]
    pub attributes: Vec<AttributeDef>,
    /// Many-to-many relationships this entity takes part in as entity 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub many_to_many: Vec<ManyToManyDef>,
    /// The name privileges use for this entity when it differs from the
    /// schema name (`User` for systemuser: `prvReadUser`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege_subject: Option<String>,
    /// Which license types may use the entity (see `LicenseGroup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_group: Option<LicenseGroup>,
    /// For an unowned entity readable only with a global privilege
    /// (`audit`: `prvReadAuditSummary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_privilege: Option<String>,
    /// Records are written by the engine only (audit, privileges); no API
    /// creates, changes or deletes them.
    #[serde(default)]
    pub system_managed: bool,
    /// An activity's party lists (Dataverse's `from`, `to`,
    /// `requiredattendees`…): the people an activity is with, stored as
    /// `activityparty` rows of one participation type each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<PartyListDef>,
    /// The standard main form's first tabs (Summary…), essentials first;
    /// the generated form adds the other columns in a Details tab.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form: Vec<FormTabDef>,
    /// Dataverse's `ActivityTypeMask`: 1 for an activity type users create
    /// from activity menus, 0 for one made by its action only
    /// (`opportunityclose`).
    #[serde(default = "one")]
    pub activity_type_mask: i32,
    /// The lifecycle: permitted state changes (see [`TransitionDef`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<TransitionDef>,
    /// The navigation areas that list the entity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<AreaPlacement>,
    /// Searched by the UI's global search, in this order (lowest first);
    /// absent: not searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<i32>,
    /// Indexes over several columns, in order, for the queries that filter
    /// on all of them (a job runner's due jobs by state and time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Vec<String>>,
}

fn one() -> i32 {
    1
}

/// A tab of an entity's standard main form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormTabDef {
    pub name: String,
    pub label: Label,
    pub sections: Vec<FormSectionDef>,
}

/// A section of a form tab: columns (or party lists) in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormSectionDef {
    pub name: String,
    pub label: Label,
    pub fields: Vec<String>,
}

/// One party list of an activity type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartyListDef {
    /// The column name Dataverse gives the list (`to`, `organizer`).
    pub name: String,
    /// `activityparty.participationtypemask` of its rows.
    pub mask: i32,
    pub label: Label,
}

/// The part of the product an entity belongs to, as license types see it:
/// a Basic license covers customers, leads, service, activities and notes
/// but not the sales pipeline or marketing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseGroup {
    /// Accounts and contacts.
    Customers,
    Leads,
    /// Opportunities, quotes, orders, invoices and the product catalog.
    Sales,
    Marketing,
    Service,
    Activities,
    Notes,
    /// Users, teams, business units, roles, currencies, the organization.
    Settings,
    /// Custom entities.
    Custom,
}

/// A many-to-many relationship stored in an intersect table with two id
/// columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManyToManyDef {
    /// Schema name (`systemuserroles_association`); also the navigation
    /// property name on both sides.
    pub name: String,
    pub intersect_table: String,
    pub entity1: String,
    pub entity1_column: String,
    pub entity2: String,
    pub entity2_column: String,
    #[serde(default)]
    pub is_custom: bool,
}

/// A global privilege a module declares in its schema file
/// (`[[privilege]]`): a right not tied to an entity, granted to roles like
/// the platform's own (`prvExportToExcel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalPrivilegeDef {
    /// `prv…`, unique among all privileges.
    pub name: String,
    /// The right class license caps count it under (`Read`, `Write`, …).
    pub right: String,
    /// What holding it lets a user do, for the role editor.
    pub description: String,
}

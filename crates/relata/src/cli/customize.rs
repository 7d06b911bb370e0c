//! `relata entity create|list` and `relata attribute add|list`: custom
//! entities and columns without code, the same metadata the Web API's
//! `EntityDefinitions` endpoints change.

use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use relata_metadata::{
    AttrKind, AttributeDef, CascadeDelete, EntityDef, Label, LookupTarget, OptionDef, Ownership, RequiredLevel,
};

use super::{open_admin, Access};
use crate::config::{Flags, Settings};

#[derive(Subcommand)]
pub enum EntityCommand {
    /// Create a custom entity with a primary name column
    Create(EntityArgs),
    /// List entities (logical name, entity set, custom or not)
    List,
}

#[derive(Args)]
pub struct EntityArgs {
    /// Logical name with a customization prefix, e.g. new_project
    #[arg(long)]
    pub name: String,
    /// Display name [default: the logical name]
    #[arg(long)]
    pub label: Option<String>,
    /// Plural display name [default: label + "s"]
    #[arg(long)]
    pub plural: Option<String>,
    /// Entity set name used in URLs [default: name + "s"]
    #[arg(long)]
    pub entity_set: Option<String>,
    /// Primary name column [default: <prefix>_name]
    #[arg(long)]
    pub primary_name: Option<String>,
    /// user (records have owners) or organization
    #[arg(long, default_value = "user")]
    pub ownership: String,
    /// Notes can be attached to its records
    #[arg(long)]
    pub notes: bool,
    /// Activities can be regarding its records
    #[arg(long)]
    pub activities: bool,
}

#[derive(Subcommand)]
pub enum AttributeCommand {
    /// Add a custom column to an entity (system or custom)
    Add(AttributeArgs),
    /// Delete a custom column and its data
    Delete {
        /// Entity logical name
        #[arg(long)]
        entity: String,
        /// Column logical name
        #[arg(long)]
        name: String,
    },
    /// List an entity's columns
    List {
        /// Entity logical name
        #[arg(long)]
        entity: String,
    },
}

#[derive(Args)]
pub struct AttributeArgs {
    /// Entity logical name, e.g. account
    #[arg(long)]
    pub entity: String,
    /// Column logical name with a customization prefix, e.g. new_nickname
    #[arg(long)]
    pub name: String,
    /// string, memo, integer, bigint, decimal, money, double, boolean,
    /// datetime, date, picklist, multiselectpicklist, lookup
    #[arg(long = "type")]
    pub kind: String,
    /// Display name [default: the logical name]
    #[arg(long)]
    pub label: Option<String>,
    /// Maximum length of text columns
    #[arg(long)]
    pub max_length: Option<u32>,
    /// Digits after the decimal point (decimal, money, double)
    #[arg(long)]
    pub precision: Option<u32>,
    /// Smallest allowed number
    #[arg(long, allow_hyphen_values = true)]
    pub min: Option<rust_decimal::Decimal>,
    /// Largest allowed number
    #[arg(long, allow_hyphen_values = true)]
    pub max: Option<rust_decimal::Decimal>,
    /// Choice options as value=label pairs, e.g. "1=Red,2=Green"
    #[arg(long)]
    pub options: Option<String>,
    /// Target entity of a lookup
    #[arg(long)]
    pub target: Option<String>,
    /// Mark the column business-required
    #[arg(long)]
    pub required: bool,
}

pub fn run_entity(flags: &Flags, cmd: EntityCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    let access = if matches!(cmd, EntityCommand::Create(_)) { Access::Create } else { Access::Existing };
    let org = open_admin(&settings, access)?;
    match cmd {
        EntityCommand::Create(a) => {
            let prefix = a.name.split_once('_').map(|(p, _)| p.to_string()).unwrap_or_else(|| "new".into());
            let primary = a.primary_name.clone().unwrap_or_else(|| format!("{prefix}_name"));
            let label = a.label.clone().unwrap_or_else(|| a.name.clone());
            let mut name_attr = AttributeDef::new(&primary, AttrKind::String, "Name");
            name_attr.max_length = Some(200);
            name_attr.required = RequiredLevel::Application;
            name_attr.indexed = true;
            let def = EntityDef {
                name: a.name.clone(),
                schema_name: a.name.clone(),
                entity_set: a.entity_set.clone().unwrap_or_default(),
                plural_label: Label::new(a.plural.clone().unwrap_or_else(|| format!("{label}s"))),
                label: Label::new(label),
                description: None,
                primary_id: String::new(),
                primary_name: primary,
                ownership: match a.ownership.as_str() {
                    "user" => Ownership::User,
                    "organization" => Ownership::Organization,
                    other => bail!("--ownership must be user or organization, not '{other}'"),
                },
                is_custom: true,
                is_activity: false,
                is_intersect: false,
                has_notes: a.notes,
                has_activities: a.activities,
                object_type_code: 0,
                table: None,
                states: vec![],
                attributes: vec![name_attr],
                many_to_many: vec![],
                ..Default::default()
            };
            org.create_entity(&org.system_principal(), def)?;
            let schema = org.schema();
            let e = schema.entity(&a.name).ok_or_else(|| anyhow!("the entity was not created"))?;
            println!("created entity {} (entity set {})", e.name(), e.def.entity_set);
        }
        EntityCommand::List => {
            let schema = org.schema();
            let mut rows: Vec<[String; 3]> = schema
                .entities()
                .filter(|e| !e.def.is_intersect)
                .map(|e| {
                    [
                        e.name().to_string(),
                        e.def.entity_set.clone(),
                        if e.def.is_custom { "custom" } else { "system" }.into(),
                    ]
                })
                .collect();
            rows.sort();
            super::user::print_table(&["entity", "entity set", "kind"], &rows);
        }
    }
    Ok(())
}

fn kind(s: &str) -> Result<(AttrKind, Option<&'static str>)> {
    Ok(match s {
        "string" | "text" => (AttrKind::String, None),
        "memo" => (AttrKind::Memo, None),
        "integer" | "int" => (AttrKind::Integer, None),
        "bigint" => (AttrKind::BigInt, None),
        "decimal" => (AttrKind::Decimal, None),
        "money" => (AttrKind::Money, None),
        "double" | "float" => (AttrKind::Double, None),
        "boolean" | "bool" => (AttrKind::Boolean, None),
        "datetime" => (AttrKind::DateTime, Some("DateAndTime")),
        "date" => (AttrKind::DateTime, Some("DateOnly")),
        "picklist" | "choice" => (AttrKind::Picklist, None),
        "multiselectpicklist" | "choices" => (AttrKind::MultiSelectPicklist, None),
        "lookup" => (AttrKind::Lookup, None),
        other => bail!("unknown column type '{other}'; use string, memo, integer, bigint, decimal, money, double, boolean, datetime, date, picklist, multiselectpicklist or lookup"),
    })
}

fn parse_options(s: &str) -> Result<Vec<OptionDef>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (v, l) = p.split_once('=').ok_or_else(|| anyhow!("option '{p}' is not value=label"))?;
            let value: i32 = v.trim().parse().map_err(|_| anyhow!("option value '{v}' is not a whole number"))?;
            Ok(OptionDef { value, label: Label::new(l.trim()), color: None })
        })
        .collect()
}

pub fn run_attribute(flags: &Flags, cmd: AttributeCommand) -> Result<()> {
    super::init_cli_logging();
    let settings = Settings::load(flags)?;
    let access = if matches!(cmd, AttributeCommand::Add(_)) { Access::Create } else { Access::Existing };
    let org = open_admin(&settings, access)?;
    match cmd {
        AttributeCommand::Add(a) => {
            let (k, format) = kind(&a.kind)?;
            let mut attr = AttributeDef::new(&a.name, k, a.label.as_deref().unwrap_or(&a.name));
            attr.format = format.map(str::to_string);
            attr.max_length = a.max_length;
            attr.precision = a.precision;
            attr.min = a.min;
            attr.max = a.max;
            if a.required {
                attr.required = RequiredLevel::Application;
            }
            if matches!(k, AttrKind::Picklist | AttrKind::MultiSelectPicklist) {
                attr.options = parse_options(
                    a.options.as_deref().ok_or_else(|| anyhow!("a choice column needs --options \"1=Red,2=Green\""))?,
                )?;
            }
            if k == AttrKind::Lookup {
                let target = a.target.clone().ok_or_else(|| anyhow!("a lookup needs --target <entity>"))?;
                attr.targets = vec![LookupTarget {
                    relationship: format!("{}_{}_{}", a.entity, target, a.name),
                    nav: a.name.clone(),
                    entity: target,
                    delete: CascadeDelete::RemoveLink,
                    ..Default::default()
                }];
            }
            org.create_attribute(&org.system_principal(), &a.entity, attr)?;
            println!("added column {}.{}", a.entity, a.name);
        }
        AttributeCommand::Delete { entity, name } => {
            org.write(&org.system_principal(), |s| s.delete_attribute(&entity, &name))?;
            println!("deleted column {entity}.{name}");
        }
        AttributeCommand::List { entity } => {
            let schema = org.schema();
            let e = schema.entity(&entity).ok_or_else(|| anyhow!("there is no entity named '{entity}'"))?;
            let rows: Vec<[String; 3]> = e
                .attributes()
                .iter()
                .map(|a| {
                    [
                        a.name.clone(),
                        a.kind.dataverse_name().to_string(),
                        if a.is_custom { "custom" } else { "system" }.into(),
                    ]
                })
                .collect();
            super::user::print_table(&["column", "type", "kind"], &rows);
        }
    }
    Ok(())
}

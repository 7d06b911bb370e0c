//! The built-in CRM schema, compiled into the binary from `schema/*.toml`.
//!
//! Besides `[[entity]]` and `[[option_set]]`, a file may declare
//! `[[attribute_group]]`s: columns several entities share (the totals of
//! quotes, orders and invoices; the pricing columns of their lines). An
//! entity lists the groups it takes in `groups`; their columns are appended
//! after its own, and a column it declares itself wins. Lookup relationship
//! and navigation names in a group may use `{entity}` (logical name) and
//! `{set}` (entity set name); where Dataverse's names follow no pattern, the
//! entity gives them in `[entity.relationship_names]`, keyed by `attribute`
//! or `attribute.target`. Groups are resolved here, so stored custom
//! entities never see them.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::model::{AttributeDef, EntityDef, OptionSetDef};
use crate::MetadataError;

const FILES: &[(&str, &str)] = &[
    ("system.toml", include_str!("../schema/system.toml")),
    ("customers.toml", include_str!("../schema/customers.toml")),
    ("sales.toml", include_str!("../schema/sales.toml")),
    ("catalog.toml", include_str!("../schema/catalog.toml")),
    ("orders.toml", include_str!("../schema/orders.toml")),
    ("activities.toml", include_str!("../schema/activities.toml")),
    ("customization.toml", include_str!("../schema/customization.toml")),
    ("jobs.toml", include_str!("../schema/jobs.toml")),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    entity: Vec<toml::Table>,
    #[serde(default)]
    option_set: Vec<OptionSetDef>,
    #[serde(default)]
    attribute_group: Vec<AttributeGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeGroup {
    name: String,
    attributes: Vec<AttributeDef>,
}

/// The keys of an entity table that are not part of `EntityDef`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GroupUse {
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    relationship_names: BTreeMap<String, String>,
}

/// Parses the built-in definitions. A parse error is a build defect, so the
/// test suite loads them on every run.
pub fn builtin_definitions() -> Result<(Vec<EntityDef>, Vec<OptionSetDef>), MetadataError> {
    load(FILES)
}

/// The built-in definitions with the files modules bring (`(name, text)`,
/// in the same format), read together so a module's entities may use the
/// built-in attribute groups.
pub fn definitions_with(extra: &[(&str, &str)]) -> Result<(Vec<EntityDef>, Vec<OptionSetDef>), MetadataError> {
    let files: Vec<(&str, &str)> = FILES.iter().copied().chain(extra.iter().copied()).collect();
    load(&files)
}

fn load(files: &[(&str, &str)]) -> Result<(Vec<EntityDef>, Vec<OptionSetDef>), MetadataError> {
    let invalid = |file: &str, e: String| MetadataError::Invalid(format!("{file}: {e}"));
    let mut parsed = Vec::new();
    let mut groups: HashMap<String, AttributeGroup> = HashMap::new();
    let mut sets = Vec::new();
    for (name, text) in files {
        let f: File = toml::from_str(text).map_err(|e| invalid(name, e.to_string()))?;
        for g in f.attribute_group {
            if groups.contains_key(&g.name) {
                return Err(invalid(name, format!("attribute group '{}' is defined twice", g.name)));
            }
            groups.insert(g.name.clone(), g);
        }
        for table in f.entity {
            let (def, uses) = split_entity(table).map_err(|e| invalid(name, e))?;
            parsed.push((*name, def, uses));
        }
        sets.extend(f.option_set.into_iter().map(|mut s| {
            s.is_global = true;
            s
        }));
    }
    // Groups may be declared in any file, so they are applied once all are read.
    let mut entities = Vec::with_capacity(parsed.len());
    for (file, def, uses) in parsed {
        entities.push(apply_groups(def, uses, &groups).map_err(|e| invalid(file, e))?);
    }
    Ok((entities, sets))
}

fn split_entity(mut table: toml::Table) -> Result<(EntityDef, GroupUse), String> {
    let name = table.get("name").and_then(|v| v.as_str()).unwrap_or("?").to_string();
    let mut extra = toml::Table::new();
    for key in ["groups", "relationship_names"] {
        if let Some(v) = table.remove(key) {
            extra.insert(key.into(), v);
        }
    }
    let uses: GroupUse = toml::Value::Table(extra).try_into().map_err(|e| format!("entity '{name}': {e}"))?;
    let def: EntityDef = toml::Value::Table(table).try_into().map_err(|e| format!("entity '{name}': {e}"))?;
    Ok((def, uses))
}

fn apply_groups(
    mut def: EntityDef,
    uses: GroupUse,
    groups: &HashMap<String, AttributeGroup>,
) -> Result<EntityDef, String> {
    let mut unused: Vec<&String> = uses.relationship_names.keys().collect();
    for group_name in &uses.groups {
        let group = groups
            .get(group_name)
            .ok_or_else(|| format!("entity '{}' uses unknown attribute group '{group_name}'", def.name))?;
        for attr in &group.attributes {
            if def.attributes.iter().any(|a| a.name == attr.name) {
                continue;
            }
            let mut attr = attr.clone();
            for t in &mut attr.targets {
                t.relationship = fill(&t.relationship, &def)?;
                t.nav = fill(&t.nav, &def)?;
                for key in [format!("{}.{}", attr.name, t.entity), attr.name.clone()] {
                    if let Some(rel) = uses.relationship_names.get(&key) {
                        t.relationship = rel.clone();
                        unused.retain(|k| **k != key);
                        break;
                    }
                }
            }
            def.attributes.push(attr);
        }
    }
    if let Some(key) = unused.first() {
        return Err(format!(
            "entity '{}': relationship_names key '{key}' matches no lookup of its attribute groups",
            def.name
        ));
    }
    Ok(def)
}

/// Replaces `{entity}` and `{set}`; any other placeholder is a typo.
fn fill(template: &str, def: &EntityDef) -> Result<String, String> {
    let out = template.replace("{entity}", &def.name).replace("{set}", &def.entity_set);
    if out.contains('{') || out.contains('}') {
        return Err(format!("entity '{}': unknown placeholder in '{template}'", def.name));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = r#"
[[attribute_group]]
name = "doc"

[[attribute_group.attributes]]
name = "title"
type = "string"
max_length = 100

[[attribute_group.attributes]]
name = "currencyid"
type = "lookup"
targets = [{ entity = "currency", relationship = "currency_{entity}", nav = "currencyid" }]

[[attribute_group.attributes]]
name = "customerid"
type = "customer"
targets = [
  { entity = "account", relationship = "{set}_of_accounts", nav = "customerid_account" },
  { entity = "contact", relationship = "{set}_of_contacts", nav = "customerid_contact" },
]
"#;

    fn entity(extra: &str) -> String {
        format!(
            "[[entity]]\nname = \"memo\"\nentity_set = \"memos\"\nlabel = \"Memo\"\nplural_label = \"Memos\"\n\
             primary_id = \"memoid\"\nprimary_name = \"title\"\n{extra}\n"
        )
    }

    fn load_one(entity_text: &str) -> Result<EntityDef, MetadataError> {
        let (mut entities, _) = load(&[("groups.toml", GROUP), ("entities.toml", entity_text)])?;
        Ok(entities.remove(0))
    }

    #[test]
    fn unknown_group_is_rejected_by_name() {
        let err = load_one(&entity("groups = [\"document\"]")).unwrap_err().to_string();
        assert!(err.contains("entities.toml"), "{err}");
        assert!(err.contains("entity 'memo' uses unknown attribute group 'document'"), "{err}");
    }

    #[test]
    fn group_columns_follow_the_entity_and_fill_placeholders() {
        let text = entity(
            "groups = [\"doc\"]\n\n[entity.relationship_names]\n\"customerid.contact\" = \"memo_contacts\"\n\n\
             [[entity.attributes]]\nname = \"title\"\ntype = \"string\"\nmax_length = 300\n",
        );
        let e = load_one(&text).unwrap();
        let names: Vec<&str> = e.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["title", "currencyid", "customerid"]);
        assert_eq!(e.attributes[0].max_length, Some(300), "the entity's own column wins");
        assert_eq!(e.attributes[1].targets[0].relationship, "currency_memo");
        let customer = &e.attributes[2].targets;
        assert_eq!(customer[0].relationship, "memos_of_accounts");
        assert_eq!(customer[1].relationship, "memo_contacts");
    }

    #[test]
    fn stray_relationship_names_and_placeholders_are_rejected() {
        let err = load_one(&entity("groups = [\"doc\"]\n\n[entity.relationship_names]\nownerid = \"x\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("relationship_names key 'ownerid'"), "{err}");
        let typo = GROUP.replace("currency_{entity}", "currency_{entitiy}");
        let err =
            load(&[("groups.toml", &typo), ("entities.toml", &entity("groups = [\"doc\"]"))]).unwrap_err().to_string();
        assert!(err.contains("unknown placeholder"), "{err}");
    }
}

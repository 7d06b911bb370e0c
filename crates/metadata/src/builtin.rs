//! The platform's schema, compiled into the binary from `schema/*.toml`;
//! business modules bring their own files in the same format, which may
//! also `[[extend]]` the entities of another file.
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

use crate::model::{AttributeDef, EntityDef, GlobalPrivilegeDef, OptionSetDef};
use crate::MetadataError;

const FILES: &[(&str, &str)] = &[
    ("system.toml", include_str!("../schema/system.toml")),
    ("customers.toml", include_str!("../schema/customers.toml")),
    ("activities.toml", include_str!("../schema/activities.toml")),
    ("customization.toml", include_str!("../schema/customization.toml")),
    ("jobs.toml", include_str!("../schema/jobs.toml")),
    ("notifications.toml", include_str!("../schema/notifications.toml")),
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
    #[serde(default)]
    extend: Vec<Extension>,
    #[serde(default)]
    privilege: Vec<GlobalPrivilegeDef>,
}

/// What a module's file adds to an entity another file declares: columns
/// (account's `originatingleadid`, which only exists with leads) and
/// targets of a polymorphic lookup (an activity party that is a lead).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extension {
    entity: String,
    #[serde(default)]
    attributes: Vec<AttributeDef>,
    #[serde(default)]
    targets: Vec<MoreTargets>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoreTargets {
    attribute: String,
    targets: Vec<crate::model::LookupTarget>,
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

/// The global privileges the files modules bring declare (`[[privilege]]`).
pub fn privileges_with(extra: &[(&str, &str)]) -> Result<Vec<GlobalPrivilegeDef>, MetadataError> {
    let mut out = Vec::new();
    for (name, text) in extra {
        let f: File = toml::from_str(text).map_err(|e| MetadataError::Invalid(format!("{name}: {e}")))?;
        out.extend(f.privilege);
    }
    Ok(out)
}

fn load(files: &[(&str, &str)]) -> Result<(Vec<EntityDef>, Vec<OptionSetDef>), MetadataError> {
    let invalid = |file: &str, e: String| MetadataError::Invalid(format!("{file}: {e}"));
    let mut parsed = Vec::new();
    let mut extensions = Vec::new();
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
        extensions.extend(f.extend.into_iter().map(|x| (*name, x)));
    }
    // Groups may be declared in any file, so they are applied once all are read.
    let mut entities = Vec::with_capacity(parsed.len());
    for (file, def, uses) in parsed {
        entities.push(apply_groups(def, uses, &groups).map_err(|e| invalid(file, e))?);
    }
    for (file, x) in extensions {
        extend(&mut entities, x).map_err(|e| invalid(file, e))?;
    }
    Ok((entities, sets))
}

fn extend(entities: &mut [EntityDef], x: Extension) -> Result<(), String> {
    let def = entities
        .iter_mut()
        .find(|e| e.name == x.entity)
        .ok_or_else(|| format!("extends entity '{}', which no file declares", x.entity))?;
    for attr in x.attributes {
        if def.attributes.iter().any(|a| a.name == attr.name) {
            return Err(format!("adds column '{}' to '{}', which has it already", attr.name, def.name));
        }
        def.attributes.push(attr);
    }
    for more in x.targets {
        let attr = def
            .attributes
            .iter_mut()
            .find(|a| a.name == more.attribute)
            .filter(|a| !a.targets.is_empty())
            .ok_or_else(|| format!("adds targets to '{}.{}', which is not a lookup", def.name, more.attribute))?;
        attr.targets.extend(more.targets);
    }
    Ok(())
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
    fn a_file_extends_another_files_entity() {
        let base = entity(
            "[[entity.attributes]]\nname = \"title\"\ntype = \"string\"\n\n[[entity.attributes]]\nname = \"partyid\"\ntype = \"lookup\"\n\
             targets = [{ entity = \"memo\", relationship = \"memo_parties\", nav = \"partyid_memo\" }]\n",
        );
        let more = r#"
[[extend]]
entity = "memo"
attributes = [{ name = "sourceid", type = "string", max_length = 20 }]
targets = [{ attribute = "partyid", targets = [{ entity = "lead", relationship = "lead_parties", nav = "partyid_lead" }] }]
"#;
        let (entities, _) = load(&[("base.toml", &base), ("module.toml", more)]).unwrap();
        let memo = &entities[0];
        assert!(memo.attributes.iter().any(|a| a.name == "sourceid"), "the column is added");
        let party = memo.attributes.iter().find(|a| a.name == "partyid").unwrap();
        let targets: Vec<&str> = party.targets.iter().map(|t| t.entity.as_str()).collect();
        assert_eq!(targets, ["memo", "lead"]);
        for (bad, says) in [
            ("[[extend]]\nentity = \"note\"\n", "extends entity 'note', which no file declares"),
            (
                "[[extend]]\nentity = \"memo\"\nattributes = [{ name = \"title\", type = \"string\" }]\n",
                "has it already",
            ),
            (
                "[[extend]]\nentity = \"memo\"\ntargets = [{ attribute = \"title\", targets = [] }]\n",
                "'memo.title', which is not a lookup",
            ),
        ] {
            let err = load(&[("base.toml", &base), ("module.toml", bad)]).unwrap_err().to_string();
            assert!(err.contains("module.toml") && err.contains(says), "{err}");
        }
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

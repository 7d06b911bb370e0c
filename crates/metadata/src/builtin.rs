//! The built-in CRM schema, compiled into the binary from `schema/*.toml`.

use serde::Deserialize;

use crate::model::{EntityDef, OptionSetDef};
use crate::MetadataError;

const FILES: &[(&str, &str)] = &[
    ("system.toml", include_str!("../schema/system.toml")),
    ("customers.toml", include_str!("../schema/customers.toml")),
    ("sales.toml", include_str!("../schema/sales.toml")),
    ("activities.toml", include_str!("../schema/activities.toml")),
];

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    entity: Vec<EntityDef>,
    #[serde(default)]
    option_set: Vec<OptionSetDef>,
}

/// Parses the built-in definitions. A parse error is a build defect, so the
/// test suite loads them on every run.
pub fn builtin_definitions() -> Result<(Vec<EntityDef>, Vec<OptionSetDef>), MetadataError> {
    let mut entities = Vec::new();
    let mut sets = Vec::new();
    for (name, text) in FILES {
        let f: File = toml::from_str(text).map_err(|e| MetadataError::Invalid(format!("{name}: {e}")))?;
        entities.extend(f.entity);
        sets.extend(f.option_set.into_iter().map(|mut s| {
            s.is_global = true;
            s
        }));
    }
    Ok((entities, sets))
}

//! The exchange without HTTP, for setups that pass files through a shared
//! folder: `relata exchange import` and `relata exchange export-orders`
//! call these. A file is imported as the job would import it, step by
//! step (each step a transaction), as the system, through a node's
//! identifiers and log.

use relata_metadata::Value;
use uuid::Uuid;

use super::catalog::quote;
use super::import::{self, Progress};
use super::{nodes, sale, uploads};
use crate::error::{EngineError, Result};
use crate::jobs::JobStep;
use crate::org::Org;

/// The node called `name`, or the default node.
fn node_named(org: &Org, name: Option<&str>) -> Result<Uuid> {
    let Some(name) = name else { return Ok(nodes::DEFAULT_NODE) };
    let system = org.system_principal();
    org.write(&system, |s| {
        let rows = s.query_system(
            "relata_exchangenode",
            &format!("$select=relata_exchangenodeid&$filter=relata_name eq {}", quote(name)),
        )?;
        rows.first()
            .and_then(|r| r.get("relata_exchangenodeid"))
            .and_then(Value::as_uuid)
            .ok_or_else(|| EngineError::Invalid(format!("there is no exchange node named '{name}'")))
    })
}

/// How a folder import is going.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportProgress {
    /// Bytes of the file read, of `size`.
    pub read: u64,
    pub size: u64,
    /// Items imported.
    pub items: usize,
}

impl Org {
    /// Imports one CommerceML file (catalog, offers, prices, stock or order
    /// statuses) through the node called `node` (the default node when
    /// `None`), read from `file` a part at a time, telling `progress` how
    /// many bytes of how many are read and how many items are imported.
    /// Returns the import's summary, as the node's log keeps it. A dry
    /// run (asked here or set on the node) writes nothing but the log.
    pub fn exchange_import(
        &self,
        node: Option<&str>,
        name: &str,
        file: &mut dyn std::io::Read,
        dry_run: bool,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<String> {
        let node = node_named(self, node)?;
        let name = uploads::normalize(name).map_err(EngineError::Invalid)?;
        let system = self.system_principal();
        let (log, dry_run) = self.write(&system, |s| {
            uploads::store(s, node, &name, file)?;
            let set = s
                .read_system("relata_exchangenode", node)?
                .and_then(|n| n.get("relata_dryrun").and_then(Value::as_bool));
            Ok::<_, EngineError>((import::start_log(s, node, &name)?, dry_run || set.unwrap_or(false)))
        })?;
        let data = Progress { node, file: name.clone(), log, dry_run, ..Progress::default() };
        let mut ctx = import::job_context(&name, &data)?;
        loop {
            import::prepare(self, ctx.id, &ctx.data);
            let step = self.write(&system, |s| {
                ctx.now = s.now;
                import::step(s, &mut ctx)
            });
            let step = match step {
                Ok(step) => step,
                Err(e) => {
                    // The failed step wrote nothing; the log says why.
                    self.write(&system, |s| import::fail_log(s, log, &e.to_string()))?;
                    return Err(e);
                }
            };
            let p: Progress = serde_json::from_value(ctx.data.clone()).unwrap_or_default();
            progress(ImportProgress { read: p.read, size: p.size, items: p.cursor });
            if let JobStep::Done(summary) = step {
                return Ok(summary.unwrap_or_default());
            }
        }
    }

    /// Ends a folder exchange of the node called `node`: what a full 2.x
    /// catalog file among the files imported left out is retired (see
    /// the node's `relata_retiremissing`). Returns how many products were,
    /// `None` when no full unload was imported.
    pub fn exchange_settle(&self, node: Option<&str>) -> Result<Option<u64>> {
        let node = node_named(self, node)?;
        self.write(&self.system_principal(), |s| import::settle(s, node))
    }

    /// The orders the node called `node` has not confirmed, as CommerceML
    /// in `version`; with `confirm`, they count as delivered (as 1C's
    /// `success` would).
    pub fn exchange_export_orders(&self, node: Option<&str>, version: &str, confirm: bool) -> Result<(Vec<u8>, usize)> {
        let version: relata_commerceml::SchemaVersion =
            version.parse().map_err(|_| EngineError::Invalid(format!("unknown CommerceML version '{version}'")))?;
        let node = node_named(self, node)?;
        let system = self.system_principal();
        self.write(&system, |s| {
            let orders = sale::query(s, node)?;
            if confirm {
                sale::confirm(s, node)?;
            }
            let xml = relata_commerceml::write_orders(&orders, version, relata_commerceml::Encoding::Utf8);
            Ok((xml, orders.len()))
        })
    }
}

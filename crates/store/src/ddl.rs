//! Entity tables created and altered from metadata.
//!
//! One table per entity, except that entities sharing a storage table (the
//! activity types in `activitypointer`) share one table holding the union of
//! their columns. Changes are additive: missing tables, columns and indexes
//! are created; nothing is dropped implicitly.

use std::collections::BTreeMap;

use relata_metadata::{AttrKind, Entity, Schema};

use crate::sql::{quote_ident, Storage};
use crate::{Backend, Result, StoreError, Tx};

/// The physical columns of an entity, in attribute order: each attribute's
/// main column, plus the `<lookup>type` column of polymorphic lookups.
pub fn column_storages(entity: &Entity) -> Vec<(String, Storage)> {
    let mut cols = Vec::with_capacity(entity.attributes().len() + 4);
    for a in entity.attributes() {
        cols.push((a.name.clone(), Storage::of(a)));
        if a.is_polymorphic() {
            cols.push((a.type_column(), Storage::Text));
        }
    }
    cols
}

fn index_name(table: &str, cols: &str) -> String {
    let mut n = format!("ix_{table}_{cols}");
    n.truncate(63);
    n
}

struct TablePlan {
    primary_key: String,
    columns: BTreeMap<String, Storage>,
    order: Vec<String>,
    indexes: Vec<IndexPlan>,
    /// Indexes of earlier versions that a new one replaces.
    replaced: Vec<String>,
}

struct IndexPlan {
    name: String,
    columns: Vec<String>,
    unique: bool,
    /// Columns indexed as `lower(column) COLLATE "C"` (PostgreSQL text).
    lowered: Vec<bool>,
}

/// Creates or extends the tables of every entity in the schema.
pub fn sync_schema(tx: &mut Tx<'_>, schema: &Schema) -> Result<()> {
    let backend = tx.backend();
    let mut tables: BTreeMap<String, TablePlan> = BTreeMap::new();
    for e in schema.entities() {
        let table = e.table().to_string();
        let plan = tables.entry(table.clone()).or_insert_with(|| TablePlan {
            primary_key: e.primary_id().to_string(),
            columns: BTreeMap::new(),
            order: Vec::new(),
            indexes: Vec::new(),
            replaced: Vec::new(),
        });
        for (col, st) in column_storages(e) {
            match plan.columns.get(&col) {
                Some(existing) if *existing != st => {
                    return Err(StoreError::Other(format!(
                        "column '{table}.{col}' is declared with two different types"
                    )))
                }
                Some(_) => {}
                None => {
                    plan.columns.insert(col.clone(), st);
                    plan.order.push(col);
                }
            }
        }
        for a in e.attributes() {
            if a.name == e.primary_id() {
                continue;
            }
            // Audit and currency lookups are rarely searched; an index per
            // insert costs a page write each, so they get none.
            let audit = matches!(a.name.as_str(), "createdby" | "modifiedby" | "transactioncurrencyid");
            let wanted = !audit
                && (a.indexed || a.kind.is_lookup() || a.kind == AttrKind::State || a.name == "activitytypecode");
            if wanted && !plan.indexes.iter().any(|i| i.columns.first() == Some(&a.name)) {
                // (column, primary key): serves filters on the column and
                // keyset-paged `ORDER BY column, id` without a sort. Text on
                // PostgreSQL is compared and sorted case-insensitively through
                // `lower(column) COLLATE "C"`, so that is what gets indexed.
                let text = |attr: &relata_metadata::AttributeDef| {
                    Storage::of(attr) == Storage::Text && backend == Backend::Postgres
                };
                let lowered = text(a);
                let suffix = if lowered { format!("{}_lc", a.name) } else { a.name.clone() };
                let by_name = (a.name == "ownerid" && e.is_owned()) || a.kind == AttrKind::State;
                let primary_name = e.attribute(&e.def.primary_name).filter(|_| by_name);
                match primary_name {
                    // A user's own records, or the records in one state, by
                    // name: what lists of users who see only their own
                    // records, and views of active records, start from.
                    Some(pn) => {
                        plan.indexes.push(IndexPlan {
                            name: index_name(&table, &format!("{}_{}", a.name, pn.name)),
                            columns: vec![a.name.clone(), pn.name.clone(), plan.primary_key.clone()],
                            unique: false,
                            lowered: vec![false, text(pn), false],
                        });
                        plan.replaced.push(index_name(&table, &suffix));
                    }
                    None => plan.indexes.push(IndexPlan {
                        name: index_name(&table, &suffix),
                        columns: vec![a.name.clone(), plan.primary_key.clone()],
                        unique: false,
                        lowered: vec![lowered, false],
                    }),
                }
            }
        }
        for cols in &e.def.indexes {
            let name = index_name(&table, &cols.join("_"));
            if !plan.indexes.iter().any(|i| i.name == name) {
                let lowered = vec![false; cols.len()];
                plan.indexes.push(IndexPlan { name, columns: cols.clone(), unique: false, lowered });
            }
        }
        if e.def.is_intersect {
            let cols: Vec<String> =
                e.attributes().iter().filter(|a| a.name != e.primary_id()).map(|a| a.name.clone()).take(2).collect();
            let lowered = vec![false; cols.len()];
            plan.indexes.push(IndexPlan { name: index_name(&table, "pair"), columns: cols, unique: true, lowered });
        }
    }

    // DDL locks whole tables, even `IF NOT EXISTS` on what exists; a
    // process opening a database that is in step (a CLI command next to a
    // running server) must not take those locks, so only what is missing
    // is created.
    let existing_indexes: std::collections::HashSet<String> = tx.index_names()?.into_iter().collect();
    for (table, plan) in tables {
        let existing = tx.table_columns(&table)?;
        if existing.is_empty() {
            let mut sql = format!("CREATE TABLE {} (", quote_ident(&table));
            // Files last: SQLite keeps a row's columns in one run of bytes,
            // so reading a column stored after a large file walks the
            // file's whole chain of overflow pages (a list of uploads that
            // reads only names and dates would read every upload).
            let (files, rest): (Vec<&String>, Vec<&String>) =
                plan.order.iter().partition(|c| plan.columns[*c] == Storage::Blob);
            for (i, col) in rest.into_iter().chain(files).enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&quote_ident(col));
                sql.push(' ');
                sql.push_str(&plan.columns[col].sql_type(backend));
                if *col == plan.primary_key {
                    sql.push_str(" PRIMARY KEY NOT NULL");
                }
            }
            sql.push(')');
            tx.batch(&sql)?;
        } else {
            for col in plan.order.iter().filter(|c| !existing.contains(c)) {
                tx.batch(&format!(
                    "ALTER TABLE {} ADD COLUMN {} {}",
                    quote_ident(&table),
                    quote_ident(col),
                    plan.columns[col].sql_type(backend)
                ))?;
            }
        }
        for ix in &plan.indexes {
            if existing_indexes.contains(&ix.name) {
                continue;
            }
            let cols_sql: Vec<String> = ix
                .columns
                .iter()
                .zip(&ix.lowered)
                .map(|(c, lower)| match (*lower, backend) {
                    // Byte order ("C") makes prefix searches an index range.
                    (true, _) => format!("(lower({}) COLLATE \"C\") ASC NULLS FIRST", quote_ident(c)),
                    // Dataverse sorts NULLs first when ascending; make the index agree.
                    (false, Backend::Postgres) if !ix.unique => format!("{} ASC NULLS FIRST", quote_ident(c)),
                    _ => quote_ident(c),
                })
                .collect();
            tx.batch(&format!(
                "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
                if ix.unique { "UNIQUE " } else { "" },
                quote_ident(&ix.name),
                quote_ident(&table),
                cols_sql.join(", ")
            ))?;
        }
        for old in plan.replaced.iter().filter(|n| existing_indexes.contains(*n)) {
            tx.batch(&format!("DROP INDEX IF EXISTS {}", quote_ident(old)))?;
        }
    }
    Ok(())
}

/// Drops columns of a table with the indexes built on them (the reverse of
/// what [`sync_schema`] adds for a removed custom attribute).
pub fn drop_columns(tx: &mut Tx<'_>, table: &str, columns: &[String]) -> Result<()> {
    for col in columns {
        for suffix in [col.clone(), format!("{col}_lc")] {
            tx.batch(&format!("DROP INDEX IF EXISTS {}", quote_ident(&index_name(table, &suffix))))?;
        }
        if tx.table_columns(table)?.iter().any(|c| c == col) {
            tx.batch(&format!("ALTER TABLE {} DROP COLUMN {}", quote_ident(table), quote_ident(col)))?;
        }
    }
    Ok(())
}

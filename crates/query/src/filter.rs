//! `$filter` expressions rendered into SQL predicates.
//!
//! Every user-supplied value becomes a bound parameter; identifiers come
//! only from metadata. Property types decide how literals are coerced, so
//! `revenue gt 100` compares exact decimals and `createdon ge 2024-01-01`
//! compares timestamps, on either database.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use relata_metadata::{AttrKind, AttributeDef, Entity, Nav, Value};
use relata_store::{Param, SqlBuilder, Storage};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::ast::{BinOp, Expr, FunctionArg, LambdaKind, Literal};
use crate::plan::{scope_predicate, Ctx};
use crate::QueryError;

/// Where property names resolve: an entity under a SQL alias, plus any
/// lambda variables in scope.
#[derive(Clone)]
pub(crate) struct Frame<'a> {
    pub entity: &'a Entity,
    pub alias: String,
    pub vars: Vec<(String, &'a Entity, String)>,
}

/// A resolved column reference: SQL text and the attribute behind it.
struct ColRef<'a> {
    sql: String,
    attr: &'a AttributeDef,
}

/// The longest text `contains`, `startswith` and `endswith` search for, in
/// characters. SQLite refuses LIKE patterns over 50,000 bytes; 10,000
/// characters of at most four bytes each, wildcards and escapes included,
/// stay under it, and both databases get the same limit.
pub const MAX_PATTERN_CHARS: usize = 10_000;

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError::Invalid(msg.into())
}

impl<'s> Ctx<'s> {
    pub(crate) fn alias(&self) -> String {
        let n = self.alias_seq.get() + 1;
        self.alias_seq.set(n);
        format!("t{n}")
    }

    /// Resolves a property path to a column, following single-valued
    /// navigation properties through scalar subqueries.
    fn column(&self, frame: &Frame<'s>, path: &[String]) -> Result<ColRef<'s>, QueryError> {
        let (entity, alias, rest): (&'s Entity, String, &[String]) = match frame.vars.iter().find(|v| v.0 == path[0]) {
            Some((_, e, a)) if path.len() > 1 => (e, a.clone(), &path[1..]),
            Some(_) => return Err(bad(format!("lambda variable '{}' must be followed by a property", path[0]))),
            None => (frame.entity, frame.alias.clone(), path),
        };
        self.column_in(entity, &alias, rest)
    }

    fn column_in(&self, entity: &'s Entity, alias: &str, path: &[String]) -> Result<ColRef<'s>, QueryError> {
        if path.len() == 1 {
            let attr = self.property(entity, &path[0])?;
            return Ok(ColRef { sql: self.column_sql(entity, alias, attr), attr });
        }
        let nav_name = &path[0];
        match entity.nav(nav_name) {
            Some(Nav::Single { attribute, target, .. }) => {
                let target = self.entity(target)?;
                let sub = self.alias();
                let inner = self.column_in(target, &sub, &path[1..])?;
                // A secured lookup the caller may not read leads nowhere.
                if entity.attribute(attribute).is_some_and(|a| self.masked(entity, a)) {
                    return Ok(ColRef { sql: crate::plan::null_of(self.backend, inner.attr), attr: inner.attr });
                }
                let mut sql = format!(
                    "(SELECT {} FROM \"{}\" \"{sub}\" WHERE \"{sub}\".\"{}\" = \"{alias}\".\"{attribute}\"",
                    inner.sql,
                    target.table(),
                    target.primary_id()
                );
                self.inline_restrictions(target, &sub, &mut sql);
                sql.push(')');
                Ok(ColRef { sql, attr: inner.attr })
            }
            Some(_) => Err(bad(format!(
                "'{nav_name}' is a collection-valued navigation property; use any() or all() to filter on it"
            ))),
            None => Err(bad(format!("'{nav_name}' is not a navigation property of '{}'", entity.name()))),
        }
    }

    /// Security and type restrictions for a joined entity, written inline
    /// (no parameters) so they can sit inside a scalar subquery.
    pub(crate) fn inline_restrictions(&self, entity: &Entity, alias: &str, sql: &mut String) {
        let mut b = SqlBuilder::new(self.backend);
        b.push(" AND ");
        scope_predicate(self, entity, alias, &mut b);
        // The predicate's parameters are GUIDs and names, safe to inline.
        sql.push_str(&inline_params(&b));
    }

    pub(crate) fn property(&self, entity: &'s Entity, name: &str) -> Result<&'s AttributeDef, QueryError> {
        if let Some(a) = entity.attribute_for_property(name) {
            return Ok(a);
        }
        if let Some(a) = entity.attribute(name) {
            if a.kind.is_lookup() {
                return Err(bad(format!(
                    "'{name}' is a lookup of '{}'; filter or sort on '_{name}_value'",
                    entity.name()
                )));
            }
        }
        Err(bad(format!("Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{}'", entity.name())))
    }

    pub(crate) fn entity(&self, name: &str) -> Result<&'s Entity, QueryError> {
        self.schema.entity(name).map(|e| e.as_ref()).ok_or_else(|| bad(format!("unknown entity '{name}'")))
    }

    /// Renders a boolean expression.
    pub(crate) fn predicate(
        &self,
        frame: &Frame<'s>,
        e: &Expr,
        b: &mut SqlBuilder,
        depth: usize,
    ) -> Result<(), QueryError> {
        if depth > 64 {
            return Err(bad("$filter is nested too deeply"));
        }
        match e {
            Expr::Binary { op: BinOp::And, left, right } | Expr::Binary { op: BinOp::Or, left, right } => {
                let op = if matches!(e, Expr::Binary { op: BinOp::And, .. }) { " AND " } else { " OR " };
                b.push("(");
                self.predicate(frame, left, b, depth + 1)?;
                b.push(op);
                self.predicate(frame, right, b, depth + 1)?;
                b.push(")");
                Ok(())
            }
            Expr::Not(inner) => {
                b.push("NOT (");
                self.predicate(frame, inner, b, depth + 1)?;
                b.push(")");
                Ok(())
            }
            Expr::Binary { op, left, right } if is_comparison(*op) => self.comparison(frame, *op, left, right, b),
            Expr::Binary { .. } | Expr::Neg(_) => Err(bad("arithmetic operators are not supported in $filter")),
            Expr::In { expr, list } => {
                let col = self.value_operand(frame, expr)?;
                if list.is_empty() {
                    b.push("1=0");
                    return Ok(());
                }
                col.render(self, b);
                b.push(" IN (");
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    let Expr::Literal(l) = item else { return Err(bad("the 'in' operator takes a list of literals")) };
                    self.literal_param(col.attr(), l, b)?;
                }
                b.push(")");
                Ok(())
            }
            Expr::Call { name, args } => self.bool_call(frame, name, args, b),
            Expr::CrmFunction { name, params } => self.crm_function(frame, name, params, b),
            Expr::Lambda { path, kind, var, body } => {
                self.lambda(frame, path, *kind, var.as_deref(), body.as_deref(), b, depth)
            }
            Expr::Property(path) => {
                let c = self.column(frame, path)?;
                if c.attr.kind != AttrKind::Boolean {
                    return Err(bad(format!("'{}' is not a boolean property", path.join("/"))));
                }
                b.push(&c.sql).push(" = ");
                b.param(Param::new(Value::Bool(true), Storage::Bool));
                Ok(())
            }
            Expr::Literal(Literal::Bool(v)) => {
                b.push(if *v { "1=1" } else { "1=0" });
                Ok(())
            }
            Expr::Literal(_) => Err(bad("a literal is not a condition")),
        }
    }

    fn comparison(
        &self,
        frame: &Frame<'s>,
        op: BinOp,
        left: &Expr,
        right: &Expr,
        b: &mut SqlBuilder,
    ) -> Result<(), QueryError> {
        // Put the property (or function) on the left.
        let (op, left, right) = match (left, right) {
            (Expr::Literal(_), r) if !matches!(r, Expr::Literal(_)) => (flip(op), right, left),
            _ => (op, left, right),
        };
        let lhs = self.value_operand(frame, left)?;
        if let Expr::Literal(Literal::Null) = right {
            lhs.render(self, b);
            match op {
                BinOp::Eq => b.push(" IS NULL"),
                BinOp::Ne => b.push(" IS NOT NULL"),
                _ => return Err(bad("null can only be compared with eq or ne")),
            };
            return Ok(());
        }
        let non_ascii = matches!(right, Expr::Literal(Literal::String(s)) if !s.is_ascii());
        let ci = lhs.is_text() && (self.backend == relata_store::Backend::Postgres || non_ascii);
        let fold = if self.backend == relata_store::Backend::Postgres { "lower(" } else { "relata_fold(" };
        // PostgreSQL: compare in the byte order of the `lower(col) COLLATE "C"` index.
        let fold_end = if self.backend == relata_store::Backend::Postgres { ") COLLATE \"C\"" } else { ")" };
        if lhs.attr().is_some_and(|a| a.kind == AttrKind::MultiSelectPicklist) {
            return Err(bad("multi-select option sets are filtered with Microsoft.Dynamics.CRM.ContainValues"));
        }
        if ci {
            b.push(fold);
        }
        lhs.render(self, b);
        if ci {
            b.push(fold_end);
        }
        b.push(sql_op(op));
        match right {
            Expr::Literal(l) => {
                if ci {
                    b.push(fold);
                }
                match &lhs {
                    Operand::Column(c) => self.literal_param(Some(c.attr), l, b)?,
                    Operand::Computed { storage, .. } => {
                        b.param(Param::new(literal_value(l, *storage)?, *storage));
                    }
                }
                if ci {
                    b.push(")");
                }
                Ok(())
            }
            other => {
                let rhs = self.value_operand(frame, other)?;
                if !comparable(lhs.storage(), rhs.storage()) {
                    return Err(bad(format!(
                        "{} and {} cannot be compared: their types differ",
                        lhs.describe(),
                        rhs.describe()
                    )));
                }
                if ci {
                    b.push(fold);
                }
                rhs.render(self, b);
                if ci {
                    b.push(")");
                }
                Ok(())
            }
        }
    }

    fn value_operand(&self, frame: &Frame<'s>, e: &Expr) -> Result<Operand<'s>, QueryError> {
        match e {
            Expr::Property(path) => Ok(Operand::Column(self.column(frame, path)?)),
            Expr::Call { name, args } => {
                let arg = |i: usize| -> Result<ColRef<'s>, QueryError> {
                    match args.get(i) {
                        Some(Expr::Property(p)) => self.column(frame, p),
                        _ => Err(bad(format!("{name}() takes a property as argument {}", i + 1))),
                    }
                };
                // String functions take text columns only: a GUID or a number
                // has no text form the two databases agree on.
                let text = |i: usize| -> Result<ColRef<'s>, QueryError> {
                    let c = arg(i)?;
                    match c.attr.kind {
                        AttrKind::String | AttrKind::Memo | AttrKind::EntityName => Ok(c),
                        _ => Err(bad(format!("{name}() takes a text property; '{}' is not text", c.attr.name))),
                    }
                };
                let sqlite = self.backend == relata_store::Backend::Sqlite;
                let (sql, storage) = match name.as_str() {
                    "tolower" => (format!("lower({})", text(0)?.sql), Storage::Text),
                    "toupper" => (format!("upper({})", text(0)?.sql), Storage::Text),
                    "trim" => (format!("trim({})", text(0)?.sql), Storage::Text),
                    "length" => (format!("length({})", text(0)?.sql), Storage::BigInt),
                    "year" | "month" | "day" | "hour" | "minute" | "second" => {
                        let c = arg(0)?;
                        if c.attr.kind != AttrKind::DateTime {
                            return Err(bad(format!("{name}() takes a date and time property")));
                        }
                        let sql = if sqlite {
                            let f = match name.as_str() {
                                "year" => "%Y",
                                "month" => "%m",
                                "day" => "%d",
                                "hour" => "%H",
                                "minute" => "%M",
                                _ => "%S",
                            };
                            format!("CAST(strftime('{f}', {} / 1000000, 'unixepoch') AS INTEGER)", c.sql)
                        } else {
                            format!(
                                "CAST(EXTRACT({} FROM {} AT TIME ZONE 'UTC') AS INTEGER)",
                                name.to_uppercase(),
                                c.sql
                            )
                        };
                        (sql, Storage::BigInt)
                    }
                    other => return Err(bad(format!("{other}() cannot be used as a value here"))),
                };
                Ok(Operand::Computed { sql, storage })
            }
            Expr::Literal(_) => Err(bad("comparing two literals is not supported")),
            _ => Err(bad("expected a property or a function of a property")),
        }
    }

    /// Binds a literal converted to the attribute's type.
    fn literal_param(&self, attr: Option<&AttributeDef>, l: &Literal, b: &mut SqlBuilder) -> Result<(), QueryError> {
        let Some(attr) = attr else {
            b.param(Param::new(literal_value(l, Storage::Text)?, Storage::Text));
            return Ok(());
        };
        let storage = Storage::of(attr);
        let value = coerce(attr, l)?;
        b.param(Param::new(value, storage));
        Ok(())
    }

    fn bool_call(&self, frame: &Frame<'s>, name: &str, args: &[Expr], b: &mut SqlBuilder) -> Result<(), QueryError> {
        match name {
            "contains" | "startswith" | "endswith" => {
                let [Expr::Property(p), Expr::Literal(Literal::String(s))] = args else {
                    return Err(bad(format!("{name}() takes a property and a string literal")));
                };
                let c = self.column(frame, p)?;
                if Storage::of(c.attr) != Storage::Text {
                    return Err(bad(format!("{name}() takes a text property; '{}' is not text", p.join("/"))));
                }
                let chars = s.chars().count();
                if chars > MAX_PATTERN_CHARS {
                    return Err(bad(format!(
                        "the text {name}() searches for is {chars} characters long; the limit is {MAX_PATTERN_CHARS}"
                    )));
                }
                let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                let pattern = match name {
                    "contains" => format!("%{escaped}%"),
                    "startswith" => format!("{escaped}%"),
                    _ => format!("%{escaped}"),
                };
                if !b.is_pg() && !s.is_ascii() {
                    // SQLite's LIKE folds ASCII only.
                    b.push("relata_like(").push(&c.sql).push(", ");
                    b.param(Param::text(pattern));
                    b.push(")");
                    return Ok(());
                }
                if b.is_pg() && name == "startswith" && s.is_ascii() && !s.is_empty() {
                    let lower = s.to_ascii_lowercase();
                    if let Some(upper) = successor(&lower) {
                        b.push("((lower(").push(&c.sql).push(") COLLATE \"C\") >= ");
                        b.param(Param::text(lower));
                        b.push(" AND (lower(").push(&c.sql).push(") COLLATE \"C\") < ");
                        b.param(Param::text(upper));
                        b.push(")");
                        return Ok(());
                    }
                }
                if !b.is_pg() && name == "startswith" && !s.is_empty() {
                    // An index range instead of SQLite's LIKE optimization,
                    // which re-prepares the statement for every new pattern.
                    // Bounds are in NOCASE's folded (lower-case) space.
                    let lower = s.to_ascii_lowercase();
                    if let Some(upper) = successor(&lower) {
                        b.push("(").push(&c.sql).push(" >= ");
                        b.param(Param::text(lower));
                        b.push(" AND ").push(&c.sql).push(" < ");
                        b.param(Param::text(upper));
                        b.push(")");
                        return Ok(());
                    }
                }
                b.push(&c.sql);
                b.push(if b.is_pg() { " ILIKE " } else { " LIKE " });
                b.param(Param::text(pattern));
                b.push(" ESCAPE '\\'");
                Ok(())
            }
            other => Err(bad(format!("{other}() does not return a boolean"))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn lambda(
        &self,
        frame: &Frame<'s>,
        path: &[String],
        kind: LambdaKind,
        var: Option<&str>,
        body: Option<&Expr>,
        b: &mut SqlBuilder,
        depth: usize,
    ) -> Result<(), QueryError> {
        let (owner, owner_alias, nav_name) = match path {
            [nav] => (frame.entity, frame.alias.clone(), nav),
            [v, nav] => match frame.vars.iter().find(|x| &x.0 == v) {
                Some((_, e, a)) => (*e, a.clone(), nav),
                None => return Err(bad(format!("unknown lambda variable '{v}'"))),
            },
            _ => return Err(bad("any()/all() must follow one collection-valued navigation property")),
        };
        let sub = self.alias();
        let (target, join) = match owner.nav(nav_name) {
            Some(Nav::Collection { entity, attribute, .. }) => {
                let t = self.entity(entity)?;
                (t, format!("\"{sub}\".\"{attribute}\" = \"{owner_alias}\".\"{}\"", owner.primary_id()))
            }
            Some(Nav::ManyToMany { entity, table, self_column, other_column, .. }) => {
                let t = self.entity(entity)?;
                let link = self.alias();
                (
                    t,
                    format!(
                        "EXISTS (SELECT 1 FROM \"{table}\" \"{link}\" WHERE \"{link}\".\"{self_column}\" = \"{owner_alias}\".\"{}\" AND \"{link}\".\"{other_column}\" = \"{sub}\".\"{}\")",
                        owner.primary_id(),
                        t.primary_id()
                    ),
                )
            }
            Some(Nav::Single { .. }) => {
                return Err(bad(format!("any()/all() need a collection; '{nav_name}' is single-valued")));
            }
            None => return Err(bad(format!("'{nav_name}' is not a navigation property of '{}'", owner.name()))),
        };
        b.push(if kind == LambdaKind::All { "NOT EXISTS (SELECT 1 FROM " } else { "EXISTS (SELECT 1 FROM " });
        b.ident(target.table()).push(" ").ident(&sub).push(" WHERE ").push(&join).push(" AND ");
        scope_predicate(self, target, &sub, b);
        if let Some(body) = body {
            let var = var.ok_or_else(|| bad("a lambda with a body needs a variable"))?;
            let mut inner = frame.clone();
            inner.vars.push((var.to_string(), target, sub.clone()));
            b.push(if kind == LambdaKind::All { " AND NOT (" } else { " AND (" });
            self.predicate(&inner, body, b, depth + 1)?;
            b.push(")");
        } else if kind == LambdaKind::All {
            return Err(bad("all() needs a condition"));
        }
        b.push(")");
        Ok(())
    }

    fn crm_function(
        &self,
        frame: &Frame<'s>,
        name: &str,
        params: &[(String, FunctionArg)],
        b: &mut SqlBuilder,
    ) -> Result<(), QueryError> {
        let get = |key: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v);
        let prop = match get("PropertyName") {
            Some(FunctionArg::Literal(Literal::String(s))) => s.clone(),
            _ => return Err(bad(format!("Microsoft.Dynamics.CRM.{name} needs PropertyName='…'"))),
        };
        let path: Vec<String> = prop.split('/').map(str::to_string).collect();
        // Query functions name lookups by their logical name (`ownerid`).
        let col = match (path.as_slice(), frame.entity.attribute(&prop)) {
            ([_], Some(a)) if a.kind.is_lookup() => {
                ColRef { sql: self.column_sql(frame.entity, &frame.alias, a), attr: a }
            }
            _ => self.column(frame, &path)?,
        };
        let attr = col.attr;
        let storage = Storage::of(attr);
        let single = |b: &mut SqlBuilder, key: &str| -> Result<Literal, QueryError> {
            let _ = b;
            match get(key) {
                Some(FunctionArg::Literal(l)) => Ok(l.clone()),
                _ => Err(bad(format!("Microsoft.Dynamics.CRM.{name} needs {key}"))),
            }
        };
        let list = |key: &str| -> Result<Vec<Literal>, QueryError> {
            match get(key) {
                Some(FunctionArg::List(v)) => Ok(v.clone()),
                Some(FunctionArg::Literal(l)) => Ok(vec![l.clone()]),
                None => Err(bad(format!("Microsoft.Dynamics.CRM.{name} needs {key}=[…]"))),
            }
        };
        let int_param = |b: &mut SqlBuilder| -> Result<i64, QueryError> {
            // Quoted or not, the count is bounded before any date arithmetic.
            let x = match single(b, "PropertyValue")? {
                Literal::Int(i) => Some(i),
                Literal::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match x {
                Some(i) if (0..=100_000).contains(&i) => Ok(i),
                _ => Err(bad(format!("{name}: PropertyValue must be a whole number between 0 and 100000"))),
            }
        };
        let now = self.now;
        let today = now.date_naive();
        let day = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"));
        let range =
            |b: &mut SqlBuilder, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| -> Result<(), QueryError> {
                if attr.kind != AttrKind::DateTime {
                    return Err(bad(format!("Microsoft.Dynamics.CRM.{name} needs a date and time property")));
                }
                // A count far enough back or ahead leaves the years records hold.
                for bound in [from, to].into_iter().flatten() {
                    if !(1..=9999).contains(&bound.year()) {
                        return Err(bad(format!(
                            "Microsoft.Dynamics.CRM.{name}: the date {} is out of range (years 1 to 9999)",
                            bound.date_naive()
                        )));
                    }
                }
                b.push("(");
                let mut first = true;
                if let Some(f) = from {
                    b.push(&col.sql).push(" >= ");
                    b.param(Param::new(Value::DateTime(f), Storage::Timestamp));
                    first = false;
                }
                if let Some(t) = to {
                    if !first {
                        b.push(" AND ");
                    }
                    b.push(&col.sql).push(" < ");
                    b.param(Param::new(Value::DateTime(t), Storage::Timestamp));
                }
                b.push(")");
                Ok(())
            };
        let week_start = |d: NaiveDate| d - Duration::days(d.weekday().num_days_from_sunday() as i64);
        let month_start = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("first of month");
        let add_months = |d: NaiveDate, m: i32| {
            let total = d.year() * 12 + d.month0() as i32 + m;
            NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1).expect("first of month")
        };
        let year_start = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).expect("new year");
        match name {
            "In" | "NotIn" => {
                let values = list("PropertyValues")?;
                if values.is_empty() {
                    b.push(if name == "In" { "1=0" } else { "1=1" });
                    return Ok(());
                }
                // Text compares as `eq` does: without regard to case, through
                // the same folded index (PostgreSQL; SQLite's NOCASE
                // columns fold ASCII themselves).
                let pg = self.backend == relata_store::Backend::Postgres;
                let non_ascii = values.iter().any(|v| matches!(v, Literal::String(s) if !s.is_ascii()));
                let fold = match (storage == Storage::Text && attr.kind != AttrKind::MultiSelectPicklist, pg) {
                    (true, true) => Some(("lower(", ") COLLATE \"C\"")),
                    (true, false) if non_ascii => Some(("relata_fold(", ")")),
                    _ => None,
                };
                match fold {
                    Some((open, close)) => b.push(open).push(&col.sql).push(close),
                    None => b.push(&col.sql),
                };
                b.push(if name == "In" { " IN (" } else { " NOT IN (" });
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    if let Some((open, _)) = fold {
                        b.push(open);
                    }
                    b.param(Param::new(coerce(attr, v)?, storage));
                    if fold.is_some() {
                        b.push(")");
                    }
                }
                b.push(")");
                Ok(())
            }
            "Between" | "NotBetween" => {
                let values = list("PropertyValues")?;
                let [lo, hi] = values.as_slice() else {
                    return Err(bad(format!("Microsoft.Dynamics.CRM.{name} needs exactly two PropertyValues")));
                };
                b.push(&col.sql).push(if name == "Between" { " BETWEEN " } else { " NOT BETWEEN " });
                b.param(Param::new(coerce(attr, lo)?, storage));
                b.push(" AND ");
                b.param(Param::new(coerce(attr, hi)?, storage));
                Ok(())
            }
            "Null" | "NotNull" => {
                b.push(&col.sql).push(if name == "Null" { " IS NULL" } else { " IS NOT NULL" });
                Ok(())
            }
            "EqualUserId"
            | "NotEqualUserId"
            | "EqualBusinessId"
            | "NotEqualBusinessId"
            | "EqualUserOrUserTeams"
            | "EqualUserTeams"
                if storage != Storage::Uuid =>
            {
                Err(bad(format!(
                    "Microsoft.Dynamics.CRM.{name} needs a lookup or unique identifier property; '{}' is {}",
                    attr.name,
                    attr.kind.dataverse_name()
                )))
            }
            "EqualUserId" | "NotEqualUserId" => {
                b.push(&col.sql).push(if name == "EqualUserId" { " = " } else { " <> " });
                b.param(Param::uuid(self.user_id));
                Ok(())
            }
            "EqualBusinessId" | "NotEqualBusinessId" => {
                b.push(&col.sql).push(if name == "EqualBusinessId" { " = " } else { " <> " });
                b.param(Param::uuid(self.business_unit_id));
                Ok(())
            }
            "EqualUserOrUserTeams" | "EqualUserTeams" => {
                let mut ids: Vec<Uuid> = self.teams.to_vec();
                if name == "EqualUserOrUserTeams" {
                    ids.push(self.user_id);
                }
                if ids.is_empty() {
                    b.push("1=0");
                    return Ok(());
                }
                b.push(&col.sql).push(" IN (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    b.param(Param::uuid(*id));
                }
                b.push(")");
                Ok(())
            }
            "ContainValues" | "DoesNotContainValues" => {
                if attr.kind != AttrKind::MultiSelectPicklist {
                    return Err(bad(format!("Microsoft.Dynamics.CRM.{name} needs a multi-select option set property")));
                }
                let values = list("PropertyValues")?;
                if name == "ContainValues" {
                    b.push("(");
                } else {
                    b.push("(").push(&col.sql).push(" IS NULL OR NOT (");
                }
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        b.push(" OR ");
                    }
                    let n = match v {
                        Literal::Int(i) => *i,
                        Literal::String(s) => {
                            s.parse::<i64>().map_err(|_| bad(format!("'{s}' is not an option value")))?
                        }
                        _ => return Err(bad("option values must be numbers")),
                    };
                    b.push(&col.sql).push(" LIKE ");
                    b.param(Param::text(format!("%,{n},%")));
                }
                if values.is_empty() {
                    b.push("1=0");
                }
                b.push(if name == "ContainValues" { ")" } else { "))" });
                Ok(())
            }
            "Today" => range(b, Some(day(today)), Some(day(today + Duration::days(1)))),
            "Yesterday" => range(b, Some(day(today - Duration::days(1))), Some(day(today))),
            "Tomorrow" => range(b, Some(day(today + Duration::days(1))), Some(day(today + Duration::days(2)))),
            "Last7Days" => range(b, Some(day(today - Duration::days(7))), Some(now)),
            "Next7Days" => range(b, Some(now), Some(day(today + Duration::days(8)))),
            "ThisWeek" => range(b, Some(day(week_start(today))), Some(day(week_start(today) + Duration::days(7)))),
            "LastWeek" => range(b, Some(day(week_start(today) - Duration::days(7))), Some(day(week_start(today)))),
            "NextWeek" => range(
                b,
                Some(day(week_start(today) + Duration::days(7))),
                Some(day(week_start(today) + Duration::days(14))),
            ),
            "ThisMonth" => range(b, Some(day(month_start(today))), Some(day(add_months(today, 1)))),
            "LastMonth" => range(b, Some(day(add_months(today, -1))), Some(day(month_start(today)))),
            "NextMonth" => range(b, Some(day(add_months(today, 1))), Some(day(add_months(today, 2)))),
            "ThisYear" => range(b, Some(day(year_start(today.year()))), Some(day(year_start(today.year() + 1)))),
            "LastYear" => range(b, Some(day(year_start(today.year() - 1))), Some(day(year_start(today.year())))),
            "NextYear" => range(b, Some(day(year_start(today.year() + 1))), Some(day(year_start(today.year() + 2)))),
            "LastXHours" => {
                let x = int_param(b)?;
                range(b, Some(now - Duration::hours(x)), Some(now))
            }
            "NextXHours" => {
                let x = int_param(b)?;
                range(b, Some(now), Some(now + Duration::hours(x)))
            }
            "LastXDays" => {
                let x = int_param(b)?;
                range(b, Some(day(today - Duration::days(x))), Some(now))
            }
            "NextXDays" => {
                let x = int_param(b)?;
                range(b, Some(now), Some(day(today + Duration::days(x + 1))))
            }
            "LastXWeeks" => {
                let x = int_param(b)?;
                range(b, Some(day(today - Duration::weeks(x))), Some(now))
            }
            "NextXWeeks" => {
                let x = int_param(b)?;
                range(b, Some(now), Some(day(today + Duration::weeks(x) + Duration::days(1))))
            }
            "LastXMonths" => {
                let x = int_param(b)?;
                let from =
                    today.checked_sub_months(chrono::Months::new(x as u32)).ok_or_else(|| bad("date out of range"))?;
                range(b, Some(day(from)), Some(now))
            }
            "NextXMonths" => {
                let x = int_param(b)?;
                let to =
                    today.checked_add_months(chrono::Months::new(x as u32)).ok_or_else(|| bad("date out of range"))?;
                range(b, Some(now), Some(day(to + Duration::days(1))))
            }
            "LastXYears" => {
                let x = int_param(b)?;
                let from = today
                    .checked_sub_months(chrono::Months::new(12 * x as u32))
                    .ok_or_else(|| bad("date out of range"))?;
                range(b, Some(day(from)), Some(now))
            }
            "NextXYears" => {
                let x = int_param(b)?;
                let to = today
                    .checked_add_months(chrono::Months::new(12 * x as u32))
                    .ok_or_else(|| bad("date out of range"))?;
                range(b, Some(now), Some(day(to + Duration::days(1))))
            }
            "OlderThanXMinutes" | "OlderThanXHours" | "OlderThanXDays" | "OlderThanXWeeks" | "OlderThanXMonths"
            | "OlderThanXYears" => {
                let x = int_param(b)?;
                let cutoff = match name {
                    "OlderThanXMinutes" => now - Duration::minutes(x),
                    "OlderThanXHours" => now - Duration::hours(x),
                    "OlderThanXDays" => day(today - Duration::days(x)),
                    "OlderThanXWeeks" => day(today - Duration::weeks(x)),
                    "OlderThanXMonths" => day(today
                        .checked_sub_months(chrono::Months::new(x as u32))
                        .ok_or_else(|| bad("date out of range"))?),
                    _ => day(today
                        .checked_sub_months(chrono::Months::new(12 * x as u32))
                        .ok_or_else(|| bad("date out of range"))?),
                };
                range(b, None, Some(cutoff))
            }
            "On" | "OnOrAfter" | "OnOrBefore" | "NotOn" => {
                let d = match single(b, "PropertyValue")? {
                    Literal::Date(d) => d,
                    Literal::DateTime(dt) => dt.date_naive(),
                    Literal::String(s) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(&s), "%Y-%m-%d")
                        .map_err(|_| bad(format!("'{s}' is not a date")))?,
                    _ => return Err(bad(format!("{name}: PropertyValue must be a date"))),
                };
                // The day after the last representable date has no midnight.
                let next = d.succ_opt().ok_or_else(|| bad(format!("{name}: the date {d} is out of range")))?;
                match name {
                    "On" => range(b, Some(day(d)), Some(day(next))),
                    "OnOrAfter" => range(b, Some(day(d)), None),
                    "OnOrBefore" => range(b, None, Some(day(next))),
                    _ => {
                        b.push("NOT ");
                        range(b, Some(day(d)), Some(day(next)))
                    }
                }
            }
            other => Err(bad(format!("the query function Microsoft.Dynamics.CRM.{other} is not supported"))),
        }
    }
}

/// For an ASCII prefix: the bound above every string that starts with it,
/// when `[prefix, bound)` holds exactly those strings (byte or NOCASE
/// order), so no LIKE recheck is needed.
fn successor(s: &str) -> Option<String> {
    let mut bytes = s.as_bytes().to_vec();
    match bytes.pop() {
        Some(last) if last < 0x7e => {
            bytes.push(last + 1);
            String::from_utf8(bytes).ok()
        }
        _ => None,
    }
}

enum Operand<'a> {
    Column(ColRef<'a>),
    Computed { sql: String, storage: Storage },
}

impl<'a> Operand<'a> {
    fn render(&self, _ctx: &Ctx<'_>, b: &mut SqlBuilder) {
        match self {
            Operand::Column(c) => b.push(&c.sql),
            Operand::Computed { sql, .. } => b.push(sql),
        };
    }
    fn attr(&self) -> Option<&'a AttributeDef> {
        match self {
            Operand::Column(c) => Some(c.attr),
            Operand::Computed { .. } => None,
        }
    }
    fn storage(&self) -> Storage {
        match self {
            Operand::Column(c) => Storage::of(c.attr),
            Operand::Computed { storage, .. } => *storage,
        }
    }
    fn is_text(&self) -> bool {
        self.storage() == Storage::Text
    }
    /// How an error names the operand: the column, or "a computed value".
    fn describe(&self) -> String {
        match self {
            Operand::Column(c) => format!("'{}' ({})", c.attr.name, c.attr.kind.dataverse_name()),
            Operand::Computed { .. } => "a computed value".to_string(),
        }
    }
}

/// Can two columns (or computed values) be compared in SQL with the meaning
/// OData gives it, on both databases? Whole and floating-point numbers mix;
/// decimals are stored scaled on SQLite, so only the same scale compares.
fn comparable(a: Storage, b: Storage) -> bool {
    let number = |s: Storage| matches!(s, Storage::Int | Storage::BigInt | Storage::Double);
    match (a, b) {
        (Storage::Options | Storage::Blob, _) | (_, Storage::Options | Storage::Blob) => false,
        _ if number(a) && number(b) => true,
        _ => a == b,
    }
}

fn is_comparison(op: BinOp) -> bool {
    matches!(op, BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le)
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        other => other,
    }
}

fn sql_op(op: BinOp) -> &'static str {
    match op {
        BinOp::Eq => " = ",
        BinOp::Ne => " <> ",
        BinOp::Gt => " > ",
        BinOp::Ge => " >= ",
        BinOp::Lt => " < ",
        _ => " <= ",
    }
}

/// A literal compared with a computed value (`length(name)`, `tolower(name)`):
/// it must have the computed value's type, or the database would be handed a
/// parameter it cannot convert.
fn literal_value(l: &Literal, storage: Storage) -> Result<Value, QueryError> {
    Ok(match (l, storage) {
        (Literal::Null, _) => Value::Null,
        (Literal::String(s), Storage::Text) => Value::String(s.clone()),
        (Literal::Int(i), Storage::Int | Storage::BigInt) => Value::Int(*i),
        (Literal::Decimal(d), Storage::Int | Storage::BigInt) if d.fract().is_zero() => {
            Value::Int(i64::try_from(*d).map_err(|_| bad(format!("{d} is out of range for a whole number")))?)
        }
        (l, Storage::Text) => return Err(bad(format!("a {} literal cannot be compared with text", literal_kind(l)))),
        (l, _) => return Err(bad(format!("a {} literal cannot be compared with a whole number", literal_kind(l)))),
    })
}

/// Converts a literal to the attribute's value type, or explains why not.
pub(crate) fn coerce(attr: &AttributeDef, l: &Literal) -> Result<Value, QueryError> {
    let value = coerce_kind(attr, l)?;
    // A number the column cannot hold is the client's mistake, not the database's.
    relata_metadata::check_storable(attr, &value).map_err(|e| bad(e.to_string()))?;
    Ok(value)
}

fn coerce_kind(attr: &AttributeDef, l: &Literal) -> Result<Value, QueryError> {
    let mismatch = || {
        bad(format!(
            "a {} literal cannot be compared with '{}' ({})",
            literal_kind(l),
            attr.name,
            attr.kind.dataverse_name()
        ))
    };
    Ok(match attr.kind {
        AttrKind::String | AttrKind::Memo | AttrKind::EntityName => match l {
            Literal::String(s) => Value::String(s.clone()),
            _ => return Err(mismatch()),
        },
        AttrKind::Integer
        | AttrKind::BigInt
        | AttrKind::Picklist
        | AttrKind::State
        | AttrKind::Status
        | AttrKind::MultiSelectPicklist => match l {
            Literal::Int(i) => Value::Int(*i),
            Literal::String(s) => Value::Int(s.trim().parse().map_err(|_| mismatch())?),
            Literal::Decimal(d) if d.fract().is_zero() => Value::Int(i64::try_from(*d).map_err(|_| mismatch())?),
            _ => return Err(mismatch()),
        },
        AttrKind::Decimal | AttrKind::Money => match l {
            Literal::Int(i) => Value::Decimal(Decimal::from(*i)),
            Literal::Decimal(d) => Value::Decimal(*d),
            Literal::Double(f) => Value::Decimal(Decimal::try_from(*f).map_err(|_| mismatch())?),
            Literal::String(s) => Value::Decimal(s.trim().parse().map_err(|_| mismatch())?),
            _ => return Err(mismatch()),
        },
        AttrKind::Double => match l {
            Literal::Int(i) => Value::Double(*i as f64),
            Literal::Decimal(d) => Value::Double(d.to_string().parse().map_err(|_| mismatch())?),
            Literal::Double(f) => Value::Double(*f),
            _ => return Err(mismatch()),
        },
        AttrKind::Boolean => match l {
            Literal::Bool(v) => Value::Bool(*v),
            Literal::Int(0) => Value::Bool(false),
            Literal::Int(1) => Value::Bool(true),
            _ => return Err(mismatch()),
        },
        AttrKind::DateTime => match l {
            Literal::DateTime(d) => Value::DateTime(*d),
            Literal::Date(d) => Value::DateTime(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))),
            Literal::String(s) => Value::DateTime(
                DateTime::parse_from_rfc3339(s)
                    .map(|d| d.with_timezone(&Utc))
                    .or_else(|_| {
                        NaiveDate::parse_from_str(s, "%Y-%m-%d")
                            .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")))
                    })
                    .map_err(|_| mismatch())?,
            ),
            _ => return Err(mismatch()),
        },
        AttrKind::Lookup | AttrKind::Customer | AttrKind::Owner | AttrKind::Uniqueidentifier => match l {
            Literal::Guid(g) => Value::Uuid(*g),
            Literal::String(s) => Value::Uuid(Uuid::parse_str(s).map_err(|_| mismatch())?),
            _ => return Err(mismatch()),
        },
        AttrKind::File => return Err(bad(format!("'{}' cannot be filtered on", attr.name))),
    })
}

fn literal_kind(l: &Literal) -> &'static str {
    match l {
        Literal::Null => "null",
        Literal::Bool(_) => "boolean",
        Literal::Int(_) => "integer",
        Literal::Decimal(_) => "decimal",
        Literal::Double(_) => "double",
        Literal::String(_) => "string",
        Literal::Guid(_) => "GUID",
        Literal::DateTime(_) => "date-time",
        Literal::Date(_) => "date",
    }
}

/// Writes a builder's SQL with its parameters inlined. Only for
/// parameters produced internally (GUIDs and entity names), never for user input.
fn inline_params(b: &SqlBuilder) -> String {
    let mut out = String::with_capacity(b.sql.len() + 64);
    let mut params = b.params.iter();
    let mut chars = b.sql.chars().peekable();
    while let Some(c) = chars.next() {
        let is_ph = match b.backend {
            relata_store::Backend::Sqlite => c == '?',
            relata_store::Backend::Postgres => c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()),
        };
        if !is_ph {
            out.push(c);
            continue;
        }
        if c == '$' {
            while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                chars.next();
            }
        }
        match params.next().map(|p| &p.value) {
            Some(Value::Uuid(u)) => out.push_str(&uuid_literal(b.backend, *u)),
            Some(Value::String(s)) if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                out.push('\'');
                out.push_str(s);
                out.push('\'');
            }
            _ => out.push_str("NULL"),
        }
    }
    out
}

pub(crate) fn uuid_literal(backend: relata_store::Backend, u: Uuid) -> String {
    match backend {
        relata_store::Backend::Sqlite => format!("X'{}'", u.simple()),
        relata_store::Backend::Postgres => format!("'{u}'::uuid"),
    }
}

//! Hostile query options planned and run against a real database: every
//! outcome is rows or a clear "invalid query" error — never an SQL error,
//! never a changed table. Runs on SQLite, and on PostgreSQL when
//! `RELATA_TEST_POSTGRES_URL` is set.

use chrono::Utc;
use proptest::prelude::*;
use relata_metadata::{builtin_definitions, Schema, Value};
use relata_query::options::parse_query_options;
use relata_query::{Ctx, QueryError};
use relata_security::Scope;
use relata_store::{sync_schema, Backend, Db, DbOptions, Param, Storage};
use uuid::Uuid;

fn schema() -> Schema {
    let (e, o) = builtin_definitions().unwrap();
    Schema::build(e, o).unwrap()
}

struct Fixture {
    db: Db,
    schema: Schema,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL schema to drop afterwards, with a connection to do it.
    pg_cleanup: Option<(Db, String)>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((admin, ns)) = &self.pg_cleanup {
            let _ = admin.write(|tx| tx.batch(&format!("DROP SCHEMA IF EXISTS {ns} CASCADE")));
        }
    }
}

fn fixtures() -> Vec<Fixture> {
    let schema = schema();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::open_sqlite(&dir.path().join("q.db"), &DbOptions::default()).unwrap();
    let mut out = vec![Fixture { db: sqlite, schema: schema.clone(), _dir: Some(dir), pg_cleanup: None }];
    if let Ok(url) = std::env::var("RELATA_TEST_POSTGRES_URL") {
        let ns = format!("relata_qi_{}", Uuid::new_v4().simple());
        let admin =
            Db::open_postgres(&url, &DbOptions::default()).expect("RELATA_TEST_POSTGRES_URL is set but unreachable");
        admin.write(|tx| tx.batch(&format!("CREATE SCHEMA {ns}"))).unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{sep}options=-c%20search_path%3D{ns}");
        out.push(Fixture {
            db: Db::open_postgres(&scoped, &DbOptions::default()).unwrap(),
            schema,
            _dir: None,
            pg_cleanup: Some((admin, ns)),
        });
    }
    for f in &out {
        f.db.write(|tx| -> Result<(), relata_store::StoreError> {
            relata_store::migrate(tx)?;
            sync_schema(tx, &f.schema)?;
            for (i, name) in ["Contoso", "O'Brien & Sons", "Ромашка"].iter().enumerate() {
                tx.execute(
                    "INSERT INTO account (accountid, name, revenue, versionnumber) VALUES ($1, $2, $3, $4)",
                    &[
                        Param::uuid(Uuid::now_v7()),
                        Param::text(*name),
                        Param::new(Value::Decimal(rust_decimal::Decimal::new(123456, 2)), Storage::Decimal(4)),
                        Param::bigint(i as i64 + 1),
                    ],
                )?;
            }
            Ok(())
        })
        .unwrap();
    }
    out
}

fn account_count(f: &Fixture) -> i64 {
    f.db.read(|tx| tx.query("SELECT COUNT(*) FROM account", &[], &[Storage::BigInt])).unwrap()[0][0].as_i64().unwrap()
}

fn run(f: &Fixture, query: &str) -> Result<usize, String> {
    let opts = match parse_query_options(query) {
        Ok(o) => o,
        Err(e) => return Err(format!("parse: {e}")),
    };
    let scope = |_: &relata_metadata::Entity| Scope::All;
    let teams = [];
    let ctx = Ctx::new(&f.schema, f.db.backend(), Uuid::nil(), Uuid::nil(), &teams, Utc::now(), &scope);
    let entity = f.schema.entity("account").unwrap();
    let r = f.db.read(|tx| -> Result<usize, QueryError> {
        if opts.apply.is_empty() {
            Ok(ctx.query(tx, entity, &opts, Some(50), None)?.records.len())
        } else {
            Ok(ctx.apply(tx, entity, &opts)?.len())
        }
    });
    match r {
        Ok(n) => Ok(n),
        Err(QueryError::Invalid(m)) => Err(format!("invalid: {m}")),
        Err(QueryError::Store(e)) => panic!("query {query:?} reached the database as broken SQL: {e}"),
    }
}

const HOSTILE: &[&str] = &[
    "'; DROP TABLE account; --",
    "\" OR 1=1 --",
    "x' OR '1'='1",
    "%",
    "_",
    "\\",
    "*/ SELECT 1 /*",
    "Robert'); DELETE FROM account;--",
    "Ромашка",
    "$1",
    "?",
    "\u{0}",
];

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn filter_strategy() -> impl Strategy<Value = String> {
    let text = proptest::sample::select(HOSTILE.to_vec()).prop_map(quote);
    let prop = proptest::sample::select(vec!["name", "telephone1", "accountnumber", "description", "emailaddress1"]);
    let leaf = prop_oneof![
        (prop.clone(), text.clone()).prop_map(|(p, t)| format!("{p} eq {t}")),
        (prop.clone(), text.clone()).prop_map(|(p, t)| format!("contains({p},{t})")),
        (prop.clone(), text.clone()).prop_map(|(p, t)| format!("startswith({p},{t})")),
        (prop.clone(), text.clone())
            .prop_map(|(p, t)| format!("Microsoft.Dynamics.CRM.In(PropertyName='{p}',PropertyValues=[{t},'a'])")),
        text.clone().prop_map(|t| format!("contact_customer_accounts/any(c:c/fullname eq {t})")),
        text.clone().prop_map(|t| format!("primarycontactid/fullname ne {t}")),
        Just("revenue gt 100.5".to_string()),
        Just("createdon ge 2020-01-01T00:00:00Z".to_string()),
        Just("Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=7)".to_string()),
        text.clone().prop_map(|t| format!("{t} eq name")),
        text.prop_map(|t| format!("tolower(name) eq {t}")),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

#[test]
fn hostile_filters_never_reach_sql_as_code() {
    let fx = fixtures();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 300, ..ProptestConfig::default() });
    for f in &fx {
        let before = account_count(f);
        runner
            .run(
                &(
                    filter_strategy(),
                    proptest::option::of(proptest::sample::select(vec!["name", "revenue desc", "createdon,name desc"])),
                ),
                |(filter, order)| {
                    let mut q = format!("$filter={}&$select=name,revenue", enc(&filter));
                    if let Some(o) = order {
                        q.push_str(&format!("&$orderby={}", enc(o)));
                    }
                    let _ = run(f, &q);
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(account_count(f), before, "{:?}: a query changed the table", f.db.backend());
    }
}

#[test]
fn quotes_and_wildcards_match_literally() {
    for f in fixtures() {
        assert_eq!(run(&f, &format!("$filter={}", enc("name eq 'O''Brien & Sons'"))), Ok(1), "{:?}", f.db.backend());
        assert_eq!(run(&f, &format!("$filter={}", enc("contains(name,'%')"))), Ok(0));
        assert_eq!(run(&f, &format!("$filter={}", enc("contains(name,'_')"))), Ok(0));
        assert_eq!(run(&f, &format!("$filter={}", enc("contains(name,'''')"))), Ok(1));
        assert_eq!(run(&f, &format!("$filter={}", enc("name eq '''; DROP TABLE account; --'"))), Ok(0));
        if f.db.backend() == Backend::Postgres {
            // PostgreSQL folds case beyond ASCII; SQLite's NOCASE is ASCII-only.
            assert_eq!(run(&f, &format!("$filter={}", enc("contains(name,'РОМАШ')"))), Ok(1));
        }
        assert_eq!(run(&f, &format!("$filter={}", enc("contains(name,'Ромаш')"))), Ok(1));
        assert_eq!(account_count(&f), 3);
    }
}

#[test]
fn min_and_max_of_guids_and_booleans_are_refused_by_name() {
    for f in fixtures() {
        for (q, says) in [
            ("$apply=aggregate(accountid with max as m)", "'accountid' is a GUID or lookup"),
            ("$apply=aggregate(_primarycontactid_value with min as m)", "is a GUID or lookup"),
            ("$apply=aggregate(donotemail with max as m)", "'donotemail' is a yes/no column"),
        ] {
            let m = run(&f, q).unwrap_err();
            assert!(m.contains(says), "{:?} {q}: {m}", f.db.backend());
        }
        assert_eq!(run(&f, "$apply=aggregate(name with max as m)"), Ok(1));
    }
}

#[test]
fn overlong_search_text_is_refused_before_the_database_sees_it() {
    // 10,000 characters pass on both databases (SQLite refuses LIKE
    // patterns over 50,000 bytes, so 4-byte characters and escapes are the
    // worst case); one more is refused by name, whatever the function.
    let widest = "𝄞".repeat(10_000);
    let escapes = "%_".repeat(5_000);
    for f in fixtures() {
        for text in [&widest, &escapes] {
            for func in ["contains", "startswith", "endswith"] {
                let q = format!("$filter={}", enc(&format!("{func}(name,'{text}')")));
                assert_eq!(run(&f, &q), Ok(0), "{:?} {func}", f.db.backend());
            }
        }
        for func in ["contains", "startswith", "endswith"] {
            let q = format!("$filter={}", enc(&format!("{func}(name,'{}')", "n".repeat(10_001))));
            let m = run(&f, &q).unwrap_err();
            assert!(
                m.contains(&format!("the text {func}() searches for is 10001 characters long; the limit is 10000")),
                "{m}"
            );
        }
        assert_eq!(account_count(&f), 3);
    }
}

#[test]
fn hostile_values_in_other_options_are_rejected_cleanly() {
    for f in fixtures() {
        // Each is refused before any SQL is built, by an error that points
        // at the offending option.
        for (q, says) in [
            ("$select=name;DROP TABLE account", "in $select: unexpected character ';'"),
            ("$orderby=name;DELETE FROM account", "in $orderby: unexpected character ';'"),
            ("$orderby=name%20desc,%20(SELECT%201)", "in $orderby: expected a property path"),
            ("$top=1;DROP", "in $top: expected a non-negative integer"),
            (
                "$skiptoken=WyInOyBEUk9QIFRBQkxFIGFjY291bnQ7IC0tIiwiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIl0",
                "$skiptoken is not valid",
            ),
            ("$apply=groupby((name;DROP))", "in $apply: unexpected character ';'"),
        ] {
            let r = run(&f, q);
            match &r {
                Err(m) => assert!(m.contains(says), "{:?} {q}: {m}", f.db.backend()),
                Ok(n) => panic!("{:?} {q}: ran and returned {n} rows", f.db.backend()),
            }
        }
        // A quote inside a string literal is data: the expanded filter
        // matches no contact literally named that, and every account is listed.
        let r = run(&f, "$expand=primarycontactid($filter=fullname%20eq%20'x''%20OR%201=1')");
        assert_eq!(r, Ok(3), "{:?}", f.db.backend());
        assert_eq!(account_count(&f), 3);
    }
}

#[test]
fn a_column_sorted_on_thousands_of_times_sorts_once() {
    // SQLite refuses more than 2,000 ORDER BY terms; repeats change nothing
    // after the first mention, so they never reach the database.
    let orderby = format!("donotemail desc,{}", vec!["name"; 5_000].join(","));
    for f in fixtures() {
        let q = format!("$select=name&$orderby={}", enc(&orderby));
        assert_eq!(run(&f, &q), Ok(3), "{:?}", f.db.backend());
    }
}

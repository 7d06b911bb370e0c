//! `CreateMultiple` and `UpdateMultiple`: many records in one operation
//! decide exactly what one record at a time decides (the rules of every
//! module, references, versions, audit), all or nothing, on SQLite and on
//! PostgreSQL.

use relata_engine::{EngineError, Org, OrgConfig, RecordInput, Session};
use relata_metadata::{EntityRef, Value};
use relata_store::{Db, DbOptions, Param, Storage};
use rust_decimal::Decimal;
use uuid::Uuid;

/// An organization on a fresh database of each kind.
fn orgs() -> Vec<(String, Org, Box<dyn std::any::Any>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open_sqlite(&dir.path().join("relata.db"), &DbOptions::default()).expect("database");
    let mut out = vec![(
        "sqlite".to_string(),
        Org::open(db, &OrgConfig::default()).expect("org"),
        Box::new(dir) as Box<dyn std::any::Any>,
    )];
    match std::env::var("RELATA_TEST_POSTGRES_URL") {
        Ok(base) => {
            let admin = Db::open_postgres(&base, &DbOptions::default()).expect("PostgreSQL is set but unreachable");
            let schema = format!("relata_multiple_{}_{}", std::process::id(), Uuid::new_v4().simple());
            admin.write(|tx| tx.batch(&format!("CREATE SCHEMA {schema}"))).expect("schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            let db = Db::open_postgres(&url, &DbOptions::default()).expect("PostgreSQL schema");
            out.push((
                "postgres".into(),
                Org::open(db, &OrgConfig::default()).expect("org"),
                Box::new(Drop(admin, schema)) as Box<dyn std::any::Any>,
            ));
        }
        Err(_) => eprintln!("RELATA_TEST_POSTGRES_URL is not set: PostgreSQL case not run"),
    }
    out
}

/// Drops the test's schema at the end.
struct Drop(Db, String);

impl std::ops::Drop for Drop {
    fn drop(&mut self) {
        let _ = self.0.write(|tx| tx.batch(&format!("DROP SCHEMA {} CASCADE", self.1)));
    }
}

fn r(entity: &str, id: Uuid) -> Value {
    Value::Ref(EntityRef { entity: entity.into(), id })
}

fn input(fields: &[(&str, Value)]) -> RecordInput {
    RecordInput::new(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn count(org: &Org, sql: &str, params: &[Param]) -> i64 {
    org.db()
        .read(|tx| tx.query_one(sql, params, &[Storage::BigInt]))
        .expect("count")
        .and_then(|r| r[0].as_i64())
        .expect("a count")
}

/// A unit group and its unit, two products in it, and two price lists.
struct Catalog {
    unit: Uuid,
    products: [Uuid; 2],
    lists: [Uuid; 2],
}

fn catalog(s: &mut Session<'_, '_, '_>) -> Result<Catalog, EngineError> {
    let group = s.create(
        "uomschedule",
        input(&[("name", Value::String("Pieces".into())), ("baseuomname", Value::String("Piece".into()))]),
    )?;
    let unit = s.create(
        "uom",
        input(&[
            ("name", Value::String("Box".into())),
            ("uomscheduleid", r("uomschedule", group)),
            ("quantity", Value::Decimal(Decimal::from(10))),
        ]),
    )?;
    let mut products = [Uuid::nil(); 2];
    for (i, p) in products.iter_mut().enumerate() {
        *p = s.create(
            "product",
            input(&[
                ("name", Value::String(format!("Product {i}"))),
                ("productnumber", Value::String(format!("P-{i}"))),
                ("defaultuomscheduleid", r("uomschedule", group)),
                ("defaultuomid", r("uom", unit)),
            ]),
        )?;
    }
    let mut lists = [Uuid::nil(); 2];
    for (i, l) in lists.iter_mut().enumerate() {
        let currency = r("transactioncurrency", s.org.ids.base_currency);
        *l = s.create(
            "pricelevel",
            input(&[("name", Value::String(format!("List {i}"))), ("transactioncurrencyid", currency)]),
        )?;
    }
    Ok(Catalog { unit, products, lists })
}

fn item(c: &Catalog, list: usize, product: usize, amount: i64) -> RecordInput {
    input(&[
        ("pricelevelid", r("pricelevel", c.lists[list])),
        ("productid", r("product", c.products[product])),
        ("uomid", r("uom", c.unit)),
        ("pricingmethodcode", Value::Int(1)),
        ("amount", Value::Decimal(Decimal::from(amount))),
    ])
}

/// The stored columns the rules fill, for comparing two ways of writing.
fn stored(org: &Org, id: Uuid) -> Vec<Value> {
    org.db()
        .read(|tx| {
            tx.query_one(
                "SELECT productnumber, transactioncurrencyid, exchangerate, amount, amount_base, pricingmethodcode
                 FROM productpricelevel WHERE productpricelevelid = $1",
                &[Param::uuid(id)],
                &[
                    Storage::Text,
                    Storage::Uuid,
                    Storage::Decimal(10),
                    Storage::Decimal(4),
                    Storage::Decimal(4),
                    Storage::Int,
                ],
            )
        })
        .expect("read")
        .expect("the item is stored")
}

#[test]
fn many_price_list_items_are_made_as_one_at_a_time_makes_them_with_versions_and_audit() {
    for (db, org, _keep) in orgs() {
        let admin = org.system_principal();
        let (c, one, many) = org
            .write(&admin, |s| {
                let c = catalog(s)?;
                let one = s.create("productpricelevel", item(&c, 0, 0, 5))?;
                let many = s.create_multiple("productpricelevel", vec![item(&c, 1, 0, 5), item(&c, 1, 1, 7)])?;
                Ok::<_, EngineError>((c, one, many))
            })
            .expect("created");
        assert_eq!(many.len(), 2, "{db}");
        // The sales rules ran: product number, the list's currency and rate, the base amount.
        let (a, b) = (stored(&org, one), stored(&org, many[0]));
        assert_eq!(a, b, "{db}: one by one and in a batch give the same record");
        assert_eq!(b[0], Value::String("P-0".into()), "{db}");
        assert!(!b[1].is_null(), "{db}: the currency comes from the price list");
        let versions = count(
            &org,
            "SELECT COUNT(DISTINCT versionnumber) FROM productpricelevel WHERE productpricelevelid IN ($1, $2, $3)",
            &[Param::uuid(one), Param::uuid(many[0]), Param::uuid(many[1])],
        );
        assert_eq!(versions, 3, "{db}: every record has its own row version");
        let audited = count(
            &org,
            "SELECT COUNT(*) FROM audit WHERE objectid IN ($1, $2) AND action = 1",
            &[Param::uuid(many[0]), Param::uuid(many[1])],
        );
        assert_eq!(audited, 2, "{db}: each created record is in the audit log");
        let _ = c;
    }
}

#[test]
fn a_batch_is_refused_whole_for_a_conflict_inside_it_or_with_the_store_a_missing_reference_or_value() {
    for (db, org, _keep) in orgs() {
        let admin = org.system_principal();
        let c = org.write(&admin, catalog).expect("catalog");
        let before = count(&org, "SELECT COUNT(*) FROM productpricelevel", &[]);

        // Two items of the batch for the same list, product and unit.
        let e = org
            .write(&admin, |s| s.create_multiple("productpricelevel", vec![item(&c, 0, 0, 1), item(&c, 0, 0, 2)]))
            .unwrap_err();
        assert!(matches!(e, EngineError::Conflict(_)), "{db}: {e:?}");
        assert!(e.to_string().contains("already has a price"), "{db}: {e}");

        // One that conflicts with a stored item.
        org.write(&admin, |s| s.create("productpricelevel", item(&c, 1, 1, 3))).expect("stored item");
        let e = org
            .write(&admin, |s| s.create_multiple("productpricelevel", vec![item(&c, 0, 1, 1), item(&c, 1, 1, 2)]))
            .unwrap_err();
        assert!(matches!(e, EngineError::Conflict(_)), "{db}: {e:?}");

        // A reference to nothing is named.
        let ghost = Uuid::new_v4();
        let mut bad = item(&c, 0, 0, 1);
        bad.fields.retain(|(k, _)| k != "pricelevelid");
        bad.fields.push(("pricelevelid".into(), r("pricelevel", ghost)));
        let e =
            org.write(&admin, |s| s.create_multiple("productpricelevel", vec![item(&c, 0, 1, 1), bad])).unwrap_err();
        assert!(e.to_string().contains(&ghost.to_string()) && e.to_string().contains("pricelevelid"), "{db}: {e}");

        // A missing amount, and a column of the wrong type.
        let mut no_amount = item(&c, 0, 0, 1);
        no_amount.fields.retain(|(k, _)| k != "amount");
        let e = org.write(&admin, |s| s.create_multiple("productpricelevel", vec![no_amount])).unwrap_err();
        assert!(e.to_string().contains("amount"), "{db}: {e}");
        let mut wrong = item(&c, 0, 0, 1);
        wrong.fields.retain(|(k, _)| k != "pricingmethodcode");
        wrong.fields.push(("pricingmethodcode".into(), Value::String("many".into())));
        assert!(org.write(&admin, |s| s.create_multiple("productpricelevel", vec![wrong])).is_err(), "{db}");

        assert_eq!(count(&org, "SELECT COUNT(*) FROM productpricelevel", &[]), before + 1, "{db}: nothing partial");
    }
}

#[test]
fn many_updates_write_only_what_changes_and_refuse_missing_or_repeated_records() {
    for (db, org, _keep) in orgs() {
        let admin = org.system_principal();
        let (c, ids) = org
            .write(&admin, |s| {
                let c = catalog(s)?;
                let ids = s.create_multiple(
                    "productpricelevel",
                    vec![item(&c, 0, 0, 1), item(&c, 0, 1, 2), item(&c, 1, 0, 3)],
                )?;
                Ok::<_, EngineError>((c, ids))
            })
            .expect("created");
        let version = |id: Uuid| {
            count(
                &org,
                "SELECT versionnumber FROM productpricelevel WHERE productpricelevelid = $1",
                &[Param::uuid(id)],
            )
        };
        let old: Vec<i64> = ids.iter().map(|i| version(*i)).collect();
        let amount = |v: i64| input(&[("amount", Value::Decimal(Decimal::from(v)))]);
        org.write(&admin, |s| s.update_multiple("productpricelevel", vec![(ids[0], amount(10)), (ids[1], amount(2))]))
            .expect("updated");
        assert!(version(ids[0]) > old[0], "{db}: the changed record has a new version");
        assert_eq!(version(ids[1]), old[1], "{db}: an update that changes nothing writes nothing");
        assert_eq!(stored(&org, ids[0])[4], Value::Decimal(Decimal::from(10)), "{db}: the base amount followed");
        let audited = count(
            &org,
            "SELECT COUNT(*) FROM audit WHERE objectid IN ($1, $2) AND action = 2",
            &[Param::uuid(ids[0]), Param::uuid(ids[1])],
        );
        assert_eq!(audited, 1, "{db}: one update in the audit log");

        let e = org
            .write(&admin, |s| {
                s.update_multiple("productpricelevel", vec![(ids[2], amount(9)), (Uuid::new_v4(), amount(9))])
            })
            .unwrap_err();
        assert!(matches!(e, EngineError::NotFound(_)), "{db}: {e:?}");
        let e = org
            .write(&admin, |s| s.update_multiple("productpricelevel", vec![(ids[2], amount(9)), (ids[2], amount(8))]))
            .unwrap_err();
        assert!(e.to_string().contains("twice"), "{db}: {e}");
        // A column no update may change refuses the batch.
        let onto = input(&[("pricelevelid", r("pricelevel", c.lists[0]))]);
        let e = org
            .write(&admin, |s| s.update_multiple("productpricelevel", vec![(ids[2], amount(9)), (ids[1], onto)]))
            .unwrap_err();
        assert!(e.to_string().contains("cannot be changed"), "{db}: {e}");
        assert_eq!(stored(&org, ids[2])[3], Value::Decimal(Decimal::from(3)), "{db}: refused batches changed nothing");
    }
}

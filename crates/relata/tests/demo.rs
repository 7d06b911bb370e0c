//! `relata demo`: a company with business units, users who can sign in,
//! a catalog and a price list, and a year of sales history made through
//! the engine's sales actions, checked over the Web API as its users see
//! it, on SQLite and PostgreSQL.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, Utc};
use common::{backends, dec, enc, new_store, relata_bin, start_server, StoreSetup};
use reqwest::blocking::Client;
use serde_json::Value;

/// Runs `relata demo ARGS` on `store`; returns (success, stdout, stderr).
fn demo(store: &StoreSetup, args: &[&str]) -> (bool, String, String) {
    let mut all: Vec<String> = ["demo"].iter().chain(args).map(|s| s.to_string()).collect();
    all.extend(store.args());
    let out = Command::new(relata_bin())
        .args(&all)
        .env("RELATA_LOG", "warn")
        .env_remove("RELATA_DEMO_PASSWORD")
        .env_remove("RELATA_ORGANIZATION_NAME")
        .env_remove("RELATA_BASE_CURRENCY")
        .stdin(Stdio::null())
        .output()
        .expect("run relata demo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The password and the sign-in emails the demo printed.
fn sign_ins(stdout: &str) -> (String, Vec<String>) {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("Sign in as (password: "));
    let head = lines.next().unwrap_or_else(|| panic!("no sign-in list in:\n{stdout}"));
    let password = head.trim_start_matches("Sign in as (password: ").trim_end_matches("):").to_string();
    let emails = lines
        .filter(|l| !l.starts_with("EMAIL") && !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    (password, emails)
}

/// A signed-in user of a demo server.
struct Api<'a> {
    client: &'a Client,
    base: &'a str,
    token: String,
    backend: &'static str,
}

impl Api<'_> {
    fn get(&self, path: &str) -> Value {
        let r = self
            .client
            .get(format!("{}/api/data/v9.2/{path}", self.base))
            .bearer_auth(&self.token)
            .header("Prefer", "odata.maxpagesize=5000")
            .send()
            .expect("request");
        let status = r.status().as_u16();
        let body = r.text().unwrap_or_default();
        assert_eq!(status, 200, "[{}] GET {path}: {body}", self.backend);
        serde_json::from_str(&body).expect("JSON")
    }

    fn rows(&self, path: &str) -> Vec<Value> {
        self.get(path)["value"].as_array().cloned().unwrap_or_default()
    }

    fn count(&self, set: &str, filter: &str) -> usize {
        let q = if filter.is_empty() { String::new() } else { format!("&$filter={}", enc(filter)) };
        let v = self.get(&format!("{set}?$count=true&$top=1{q}"));
        v["@odata.count"].as_u64().unwrap_or_else(|| panic!("no count for {set}: {v}")) as usize
    }
}

fn sign_in(client: &Client, base: &str, email: &str, password: &str) -> Option<String> {
    let r = client
        .post(format!("{base}/oauth2/token"))
        .form(&[("grant_type", "password"), ("username", email), ("password", password)])
        .send()
        .expect("sign-in request");
    if r.status().as_u16() != 200 {
        return None;
    }
    let v: Value = r.json().expect("JSON");
    v["access_token"].as_str().map(str::to_string)
}

/// A date and time, or a date-only value (its midnight, UTC).
fn time(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a date: {v}"));
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc())
        })
        .unwrap_or_else(|e| panic!("not a date: {s} ({e})"))
}

#[test]
fn demo_makes_a_company_with_a_year_of_sales_history() {
    for backend in backends() {
        let store = new_store(backend);
        let started = std::time::Instant::now();
        let (ok, stdout, stderr) = demo(&store, &["--size", "small"]);
        assert!(ok, "[{backend}] demo failed:\n{stdout}\n{stderr}");
        eprintln!("[{backend}] relata demo --size small took {:.1} s", started.elapsed().as_secs_f64());
        assert!(stderr.lines().any(|l| l.starts_with("database: ") && l.ends_with(", new)")), "{stderr}");
        let (password, emails) = sign_ins(&stdout);
        assert_eq!(password, "Demo-Passw0rd!", "[{backend}] {stdout}");
        assert_eq!(emails.len(), 10, "[{backend}] {stdout}");

        let (base, _child, _stdin) = start_server(&store);
        let client = Client::new();
        // Everyone printed signs in with the printed password.
        let mut tokens = HashMap::new();
        for email in &emails {
            let token = sign_in(&client, &base, email, &password)
                .unwrap_or_else(|| panic!("[{backend}] {email} cannot sign in with {password}"));
            tokens.insert(email.clone(), token);
        }
        let admin = Api { client: &client, base: &base, token: tokens[&emails[0]].clone(), backend };
        let now = Utc::now();

        // The organization: head office and two regions, users with roles and managers.
        let units = admin.rows("businessunits?$select=name,_parentbusinessunitid_value");
        let names: BTreeSet<&str> = units.iter().filter_map(|u| u["name"].as_str()).collect();
        for n in ["Northbridge Systems", "East Region", "West Region"] {
            assert!(names.contains(n), "[{backend}] business units: {names:?}");
        }
        let users = admin.rows(
            "systemusers?$select=internalemailaddress,jobtitle,_parentsystemuserid_value,_businessunitid_value\
             &$expand=systemuserroles_association($select=name)",
        );
        let mut roles_held = BTreeSet::new();
        for email in &emails {
            let u = users
                .iter()
                .find(|u| u["internalemailaddress"] == email.as_str())
                .unwrap_or_else(|| panic!("[{backend}] no user {email}"));
            let roles = u["systemuserroles_association"].as_array().unwrap();
            assert_eq!(roles.len(), 1, "[{backend}] {u}");
            roles_held.insert(roles[0]["name"].as_str().unwrap().to_string());
            assert!(u["jobtitle"].as_str().is_some_and(|t| !t.is_empty()), "[{backend}] {u}");
        }
        for r in ["System Administrator", "Sales Manager", "Salesperson", "Marketing Professional"] {
            assert!(roles_held.contains(r), "[{backend}] roles held: {roles_held:?}");
        }
        assert!(
            users.iter().filter(|u| !u["_parentsystemuserid_value"].is_null()).count() >= 7,
            "[{backend}] managers"
        );

        // The catalog: unit groups with units, products, a price list with items.
        assert!(admin.count("uomschedules", "name eq 'Pieces' or name eq 'Time'") == 2, "[{backend}] unit groups");
        assert!(admin.count("uoms", "name eq 'box of 10' or name eq 'hour'") == 2, "[{backend}] units");
        assert_eq!(admin.count("products", "statecode eq 0 and startswith(productnumber,'NB-')"), 15, "[{backend}]");
        let lists = admin.rows("pricelevels?$select=name,_transactioncurrencyid_value");
        let list = lists
            .iter()
            .find(|l| l["name"] == "Standard Price List (USD)")
            .unwrap_or_else(|| panic!("[{backend}] price lists: {lists:?}"));
        let list_id = list["pricelevelid"].as_str().unwrap().to_string();
        let items = admin.rows(&format!(
            "productpricelevels?$select=amount,_productid_value,_uomid_value&$filter={}",
            enc(&format!("_pricelevelid_value eq {list_id}"))
        ));
        assert!(items.len() >= 15, "[{backend}] {} price list items", items.len());

        // Opportunities at every stage, with product lines priced from the list.
        let stages =
            admin.rows("opportunities?$apply=filter(statecode eq 0)/groupby((stepname),aggregate($count as n))");
        let stage_names: BTreeSet<&str> = stages.iter().filter_map(|s| s["stepname"].as_str()).collect();
        assert_eq!(stage_names, BTreeSet::from(["Close", "Develop", "Propose", "Qualify"]), "[{backend}] {stages:?}");
        let lines = admin.rows("opportunityproducts?$select=priceperunit,_productid_value,_uomid_value,extendedamount");
        assert!(lines.len() >= 150, "[{backend}] {} opportunity lines", lines.len());
        for l in lines.iter().take(40) {
            let item = items
                .iter()
                .find(|i| i["_productid_value"] == l["_productid_value"] && i["_uomid_value"] == l["_uomid_value"])
                .unwrap_or_else(|| panic!("[{backend}] a line of a product and unit not on the list: {l}"));
            assert_eq!(dec(&l["priceperunit"]), dec(&item["amount"]), "[{backend}] priced from the list: {l}");
        }

        // Won revenue in several months of the past year, made by WinOpportunity.
        let won = admin.rows(
            "opportunities?$select=actualclosedate,actualvalue,_ownerid_value,_createdby_value,_originatingleadid_value\
             &$filter=statecode eq 1",
        );
        let months: BTreeSet<String> =
            won.iter().map(|o| o["actualclosedate"].as_str().unwrap_or_default()[..7].to_string()).collect();
        assert!(months.len() >= 8, "[{backend}] won in {months:?}");
        for o in &won {
            assert!(dec(&o["actualvalue"]) > rust_decimal::Decimal::ZERO, "[{backend}] {o}");
            let closed = time(&o["actualclosedate"]);
            assert!(closed <= now && closed >= now - Duration::days(366), "[{backend}] {o}");
            // Acted out by the owner, not by the server.
            assert_eq!(o["_createdby_value"], o["_ownerid_value"], "[{backend}] {o}");
        }
        assert!(admin.count("opportunities", "statecode eq 2") > 0, "[{backend}] lost deals");
        assert!(admin.count("leads", "statecode eq 1") > 0, "[{backend}] qualified leads");
        assert!(admin.count("opportunities", "_originatingleadid_value ne null") > 0, "[{backend}] deals from leads");

        // Quotes in every state, orders, invoices and their payments.
        for state in 0..=3 {
            assert!(admin.count("quotes", &format!("statecode eq {state}")) > 0, "[{backend}] quotes in state {state}");
        }
        assert!(admin.count("salesorders", "statecode eq 4") > 0, "[{backend}] invoiced orders");
        assert!(admin.count("invoices", "statecode eq 2 and statuscode eq 100001") > 0, "[{backend}] paid invoices");
        assert!(admin.count("invoices", "statecode eq 0") > 0, "[{backend}] unpaid invoices");
        let payments = admin.rows("relata_payments?$select=relata_amount,relata_paidon");
        assert!(!payments.is_empty(), "[{backend}] payments");
        assert!(payments.iter().all(|p| time(&p["relata_paidon"]) <= now), "[{backend}] no payment in the future");

        // A year of activities: done in the past, open in the coming weeks.
        for kind in ["phonecall", "task", "appointment"] {
            let past =
                format!("activitytypecode eq '{kind}' and statecode eq 1 and scheduledend lt {}", now.to_rfc3339());
            let coming = format!(
                "activitytypecode eq '{kind}' and statecode eq 0 and scheduledend gt {} and scheduledend lt {}",
                now.to_rfc3339(),
                (now + Duration::days(29)).to_rfc3339()
            );
            assert!(admin.count("activitypointers", &past) > 0, "[{backend}] past {kind}s");
            assert!(admin.count("activitypointers", &coming) > 0, "[{backend}] coming {kind}s");
        }
        assert!(admin.count("emails", "statecode eq 1") > 0, "[{backend}] sent emails");
        let old = (now - Duration::days(300)).to_rfc3339();
        assert!(
            admin.count("activitypointers", &format!("scheduledend lt {old}")) > 0,
            "[{backend}] activities of last year"
        );
        assert!(admin.count("accounts", &format!("createdon lt {old}")) > 0, "[{backend}] customers of long standing");

        // Customers as before: linked contacts with full names, varied industries.
        assert!(admin.count("accounts", "") >= 150 && admin.count("contacts", "") >= 150, "[{backend}]");
        let c = admin.rows("contacts?$select=fullname,lastname&$filter=_parentcustomerid_value ne null&$top=5");
        assert!(c.iter().all(|r| r["fullname"].as_str().unwrap_or_default().contains(r["lastname"].as_str().unwrap())));
        let industries = admin.rows("accounts?$apply=groupby((industrycode),aggregate($count as n))");
        assert!(industries.len() >= 5, "[{backend}] {industries:?}");

        // A salesperson sees their own deals only, with their own activities ahead.
        let salesperson =
            users.iter().find(|u| u["systemuserroles_association"][0]["name"] == "Salesperson").expect("a salesperson");
        let email = salesperson["internalemailaddress"].as_str().unwrap();
        let id = salesperson["systemuserid"].as_str().unwrap();
        let rep = Api { client: &client, base: &base, token: tokens[email].clone(), backend };
        let theirs = rep.rows("opportunities?$select=_ownerid_value");
        assert!(!theirs.is_empty() && theirs.iter().all(|o| o["_ownerid_value"] == id), "[{backend}] {email}");
        assert!(theirs.len() < won.len() + 200, "[{backend}] not everyone's deals");
        assert!(
            rep.count(
                "activitypointers",
                &format!("_ownerid_value eq {id} and statecode eq 0 and scheduledend gt {}", now.to_rfc3339())
            ) > 0,
            "[{backend}] {email} has activities ahead"
        );
    }
}

/// Names and amounts of the records a demo made, read from its SQLite file.
fn snapshot(store: &StoreSetup) -> Vec<String> {
    let db = rusqlite::Connection::open(store.data_dir.join("relata.db")).expect("open the demo database");
    let mut out = Vec::new();
    for sql in [
        "SELECT name FROM account ORDER BY name",
        "SELECT lastname || ' ' || COALESCE(emailaddress1, '') FROM contact ORDER BY 1",
        "SELECT name || ' ' || statecode || ' ' || COALESCE(estimatedvalue, 0) FROM opportunity ORDER BY 1",
        "SELECT subject FROM activitypointer ORDER BY 1",
        "SELECT name || ' ' || statecode || ' ' || statuscode || ' ' || COALESCE(totalamount, 0) FROM quote ORDER BY 1",
        "SELECT name || ' ' || statecode || ' ' || statuscode FROM salesorder ORDER BY 1",
        "SELECT name || ' ' || statecode || ' ' || COALESCE(totalamount, 0) FROM invoice ORDER BY 1",
        "SELECT CAST(relata_amount AS TEXT) FROM relata_payment ORDER BY relata_amount",
    ] {
        let mut st = db.prepare(sql).expect(sql);
        let rows = st.query_map([], |r| r.get::<_, String>(0)).expect(sql);
        out.extend(rows.map(|r| r.expect("row")));
    }
    out
}

#[test]
fn the_same_seed_gives_the_same_demo() {
    let (a, b, c) = (new_store("sqlite"), new_store("sqlite"), new_store("sqlite"));
    for (store, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        let (ok, stdout, stderr) = demo(store, &["--seed", seed]);
        assert!(ok, "{stdout}\n{stderr}");
    }
    let (sa, sb, sc) = (snapshot(&a), snapshot(&b), snapshot(&c));
    assert!(sa.len() > 1500, "{} values", sa.len());
    assert_eq!(sa, sb, "the same seed, the same data");
    assert_ne!(sa, sc, "another seed, other data");
}

#[test]
fn russian_demo_is_russian_throughout() {
    for backend in backends() {
        let store = new_store(backend);
        let (ok, stdout, stderr) = demo(&store, &["--language", "ru", "--password", "Пароль-Демо-1"]);
        assert!(ok, "[{backend}] {stdout}\n{stderr}");
        let (password, emails) = sign_ins(&stdout);
        assert_eq!(password, "Пароль-Демо-1");
        assert!(emails.iter().all(|e| e.is_ascii() && e.ends_with("@vektor.example")), "[{backend}] {emails:?}");
        let (base, _child, _stdin) = start_server(&store);
        let client = Client::new();
        let token = sign_in(&client, &base, &emails[0], &password).expect("the administrator signs in");
        let api = Api { client: &client, base: &base, token, backend };
        let cyrillic = |s: &str| s.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)));

        // A new database is the company's: named after it, in roubles.
        let units = api.rows("businessunits?$select=name");
        let names: Vec<&str> = units.iter().filter_map(|u| u["name"].as_str()).collect();
        for n in ["ООО «Вектор Системс»", "Северо-Западный филиал", "Сибирский филиал"]
        {
            assert!(names.contains(&n), "[{backend}] {names:?}");
        }
        let currencies = api.rows("transactioncurrencies?$select=isocurrencycode");
        assert_eq!(currencies.len(), 1, "[{backend}] {currencies:?}");
        assert_eq!(currencies[0]["isocurrencycode"], "RUB");
        let products = api.rows("products?$select=name,relata_taxrate&$filter=startswith(productnumber,'ВС-')");
        assert_eq!(products.len(), 15, "[{backend}]");
        assert!(products
            .iter()
            .all(|p| cyrillic(p["name"].as_str().unwrap()) && dec(&p["relata_taxrate"]) == 20.into()));
        for set in
            ["accounts?$select=name&$top=20", "contacts?$select=fullname&$top=20", "leads?$select=subject&$top=20"]
        {
            let rows = api.rows(set);
            let key = set.split("$select=").nth(1).unwrap().split('&').next().unwrap();
            assert!(rows.iter().all(|r| cyrillic(r[key].as_str().unwrap_or_default())), "[{backend}] {set}: {rows:?}");
        }
        let stages = api.rows("opportunities?$apply=filter(statecode eq 0)/groupby((stepname),aggregate($count as n))");
        let stage_names: BTreeSet<&str> = stages.iter().filter_map(|s| s["stepname"].as_str()).collect();
        assert_eq!(
            stage_names,
            BTreeSet::from(["Закрытие", "Квалификация", "Предложение", "Разработка"]),
            "[{backend}] {stages:?}"
        );
        // The staff work in Russian, in their offices' time zones.
        let settings = api.rows("usersettingscollection?$select=uilanguageid,relata_timezone");
        let russian = settings.iter().filter(|s| s["uilanguageid"] == 1049).count();
        assert!(russian >= 10, "[{backend}] {settings:?}");
        assert!(settings.iter().any(|s| s["relata_timezone"] == "Asia/Novosibirsk"), "[{backend}] {settings:?}");
        assert!(api.count("invoices", "statecode eq 2") > 0, "[{backend}] paid invoices");
    }
}

#[test]
fn demo_help_says_what_it_makes_and_bad_input_writes_nothing() {
    let out = Command::new(relata_bin()).args(["demo", "--help"]).output().expect("relata demo --help");
    let help = String::from_utf8_lossy(&out.stdout);
    for what in [
        "business units",
        "users",
        "roles",
        "price list",
        "opportunities",
        "quotes",
        "orders",
        "invoices",
        "payments",
        "phone calls",
        "appointments",
        "--language",
        "--seed",
        "--password",
    ] {
        assert!(help.contains(what), "demo --help mentions {what}:\n{help}");
    }
    let store = new_store("sqlite");
    let (ok, _, stderr) = demo(&store, &["--password", "short"]);
    assert!(!ok);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains("at least 8 characters"), "{stderr}");
    assert!(!store.data_dir.join("relata.db").exists(), "no database was made");
    let (ok, _, stderr) = demo(&store, &["--language", "fr"]);
    assert!(!ok && stderr.contains("fr"), "{stderr}");
}

#[test]
fn demo_on_an_existing_database_reuses_the_company_and_prices_in_its_own_currency() {
    for backend in backends() {
        let store = new_store(backend);
        // An organization in US dollars with its own administrator.
        let mut args: Vec<String> = ["user", "create", "--email", "owner@relata.test", "--password", "Owner-Passw0rd!"]
            .map(String::from)
            .to_vec();
        args.extend(store.args());
        common::run_cli(&args);
        for seed in ["1", "2"] {
            let (ok, stdout, stderr) = demo(&store, &["--language", "ru", "--seed", seed]);
            assert!(ok, "[{backend}] {stdout}\n{stderr}");
            assert!(stderr.lines().any(|l| l.starts_with("database: ") && !l.contains("new")), "[{backend}] {stderr}");
            if seed == "2" {
                // The second run finds the staff: their password is left alone.
                assert!(stdout.contains("Sign in as (password: unchanged):"), "[{backend}] {stdout}");
            }
        }
        let (base, _child, _stdin) = start_server(&store);
        let client = Client::new();
        let token = sign_in(&client, &base, "owner@relata.test", "Owner-Passw0rd!").expect("the owner signs in");
        let api = Api { client: &client, base: &base, token, backend };
        // The company once, the deals twice.
        assert_eq!(api.count("systemusers", "endswith(internalemailaddress,'@vektor.example')"), 10, "[{backend}]");
        assert_eq!(api.count("businessunits", ""), 3, "[{backend}]");
        assert_eq!(api.count("products", "startswith(productnumber,'ВС-')"), 15, "[{backend}]");
        assert!(api.count("opportunities", "") >= 300, "[{backend}]");
        // The base currency stays; the catalog is priced in roubles at a usual rate.
        let currencies = api.rows("transactioncurrencies?$select=isocurrencycode,exchangerate&$orderby=createdon");
        let codes: Vec<&str> = currencies.iter().filter_map(|c| c["isocurrencycode"].as_str()).collect();
        assert_eq!(codes, ["USD", "RUB"], "[{backend}] {currencies:?}");
        assert_eq!(dec(&currencies[1]["exchangerate"]), rust_decimal::Decimal::from(90), "[{backend}]");
        let lists = api.rows("pricelevels?$select=name,_transactioncurrencyid_value");
        assert!(
            lists.iter().any(|l| l["name"] == "Основной прайс-лист (RUB)"
                && l["_transactioncurrencyid_value"] == currencies[1]["transactioncurrencyid"]),
            "[{backend}] {lists:?}"
        );
        let won = api.rows("opportunities?$select=actualvalue,actualvalue_base&$filter=statecode eq 1&$top=5");
        for o in &won {
            let (v, b) = (dec(&o["actualvalue"]), dec(&o["actualvalue_base"]));
            let converted = v / rust_decimal::Decimal::from(90);
            assert!((converted - b).abs() < rust_decimal::Decimal::new(1, 2), "[{backend}] {o}");
        }
        // The organization keeps its name and its first administrator.
        let units = api.rows("businessunits?$select=name&$filter=_parentbusinessunitid_value eq null");
        assert_eq!(units[0]["name"], "Relata", "[{backend}]");
    }
}

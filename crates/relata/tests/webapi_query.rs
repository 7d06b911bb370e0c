//! Collection queries: $filter, query functions, $orderby, $top, $count,
//! $expand, $apply and server-driven paging.

mod common;

use std::collections::HashSet;

use common::{d, dec, each_server, enc, null_at, uid, Srv};
use serde_json::{json, Value};
use uuid::Uuid;

/// Rows of `GET /set?$filter=…&rest`.
fn query(srv: &Srv, set: &str, filter: &str, rest: &str) -> Vec<Value> {
    let mut q = format!("$filter={}", enc(filter));
    if !rest.is_empty() {
        q.push('&');
        q.push_str(rest);
    }
    srv.get(&format!("/{set}?{q}")).rows()
}

/// Sorted values of `col` in `rows`.
fn col(rows: &[Value], col: &str) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| r[col].as_str().unwrap_or_default().to_string()).collect();
    v.sort();
    v
}

fn strs(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Five accounts named "<tag> A".."<tag> E" with employees 10..50.
fn fixture(srv: &Srv) -> (String, Vec<Uuid>) {
    let tag = format!("Q{}", uid());
    let mut ids = Vec::new();
    for (i, letter) in ["A", "B", "C", "D", "E"].iter().enumerate() {
        let mut body = json!({
            "name": format!("{tag} {letter}"),
            "numberofemployees": (i as i64 + 1) * 10,
            "revenue": format!("{}.25", (i + 1) * 100).parse::<f64>().unwrap(),
            "industrycode": if i % 2 == 0 { 1 } else { 2 },
        });
        if i < 2 {
            body["telephone1"] = json!(format!("555-{i}"));
        }
        ids.push(srv.create("accounts", &body));
    }
    (tag, ids)
}

fn names(tag: &str, letters: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = letters.iter().map(|l| format!("{tag} {l}")).collect();
    v.sort();
    v
}

#[test]
fn filter_comparison_operators() {
    each_server(|srv| {
        let (tag, _) = fixture(srv);
        let base = format!("startswith(name,'{tag}')");
        let cases: &[(&str, &[&str])] = &[
            ("numberofemployees eq 30", &["C"]),
            ("numberofemployees ne 30", &["A", "B", "D", "E"]),
            ("numberofemployees gt 30", &["D", "E"]),
            ("numberofemployees ge 30", &["C", "D", "E"]),
            ("numberofemployees lt 30", &["A", "B"]),
            ("numberofemployees le 30", &["A", "B", "C"]),
            ("revenue gt 300.24", &["C", "D", "E"]),
            ("revenue eq 300.25", &["C"]),
        ];
        for (f, want) in cases {
            let rows = query(srv, "accounts", &format!("{base} and {f}"), "$select=name");
            assert_eq!(col(&rows, "name"), names(&tag, want), "[{}] $filter {f}", srv.backend);
        }
        let rows = query(srv, "accounts", &format!("name eq '{tag} B'"), "$select=name");
        assert_eq!(col(&rows, "name"), names(&tag, &["B"]));
    });
}

#[test]
fn filter_logical_operators_and_grouping() {
    each_server(|srv| {
        let (tag, _) = fixture(srv);
        let base = format!("startswith(name,'{tag}')");
        let cases: &[(&str, &[&str])] = &[
            ("(numberofemployees eq 10 or numberofemployees eq 50)", &["A", "E"]),
            ("not (numberofemployees gt 20)", &["A", "B"]),
            ("not(numberofemployees le 40)", &["E"]),
            ("(numberofemployees lt 20 or numberofemployees gt 40) and industrycode eq 1", &["A", "E"]),
            ("((numberofemployees eq 20 or numberofemployees eq 30) and (industrycode eq 2))", &["B"]),
        ];
        for (f, want) in cases {
            let rows = query(srv, "accounts", &format!("{base} and {f}"), "$select=name");
            assert_eq!(col(&rows, "name"), names(&tag, want), "[{}] $filter {f}", srv.backend);
        }
        // and binds tighter than or.
        let f = format!("name eq '{tag} A' or name eq '{tag} B' and numberofemployees eq 10");
        let rows = query(srv, "accounts", &f, "$select=name");
        assert_eq!(col(&rows, "name"), names(&tag, &["A"]), "and before or");
    });
}

#[test]
fn string_functions_are_case_insensitive() {
    each_server(|srv| {
        let tag = uid();
        let latin = format!("Sunflower Trading {tag}");
        let cyr = format!("ООО Ромашка {tag}");
        srv.create("accounts", &json!({ "name": latin }));
        srv.create("accounts", &json!({ "name": cyr }));
        let cases: Vec<(String, Vec<String>)> = vec![
            (format!("contains(name,'{tag}')"), strs(&[&latin, &cyr])),
            (format!("contains(name,'TRADING {tag}')"), strs(&[&latin])),
            (format!("contains(name,'ромашка') and contains(name,'{tag}')"), strs(&[&cyr])),
            (format!("contains(name,'РОМАШКА {tag}')"), strs(&[&cyr])),
            (format!("startswith(name,'sunflower') and endswith(name,'{tag}')"), strs(&[&latin])),
            (format!("startswith(name,'ооо ромаш') and endswith(name,'{tag}')"), strs(&[&cyr])),
            (format!("endswith(name,'{}')", tag.to_uppercase()), strs(&[&latin, &cyr])),
            (format!("name eq '{}'", cyr.to_uppercase()), strs(&[&cyr])),
            (format!("name eq '{}'", latin.to_lowercase()), strs(&[&latin])),
            (format!("contains(name,'{tag}') and not contains(name,'Ромашка')"), strs(&[&latin])),
        ];
        for (f, want) in cases {
            let rows = query(srv, "accounts", &f, "$select=name");
            assert_eq!(col(&rows, "name"), want, "[{}] $filter {f}", srv.backend);
        }
        // LIKE wildcards in the argument are literal text.
        let rows = query(srv, "accounts", &format!("contains(name,'%{tag}')"), "$select=name");
        assert!(rows.is_empty(), "'%' is not a wildcard: {rows:?}");
        let rows = query(srv, "accounts", &format!("contains(name,'_{tag}')"), "$select=name");
        assert!(rows.is_empty(), "'_' is not a wildcard: {rows:?}");
        // A quote doubled inside a literal.
        let quoted = format!("O'Neil {tag}");
        srv.create("accounts", &json!({ "name": quoted }));
        let rows = query(srv, "accounts", &format!("name eq 'O''Neil {tag}'"), "$select=name");
        assert_eq!(col(&rows, "name"), strs(&[&quoted]));
    });
}

#[test]
fn filter_null_lookup_date_and_option_set() {
    each_server(|srv| {
        let (tag, ids) = fixture(srv);
        let base = format!("startswith(name,'{tag}')");
        let rows = query(srv, "accounts", &format!("{base} and telephone1 eq null"), "$select=name");
        assert_eq!(col(&rows, "name"), names(&tag, &["C", "D", "E"]));
        let rows = query(srv, "accounts", &format!("{base} and telephone1 ne null"), "$select=name");
        assert_eq!(col(&rows, "name"), names(&tag, &["A", "B"]));
        let rows = query(srv, "accounts", &format!("{base} and industrycode eq 1"), "$select=name");
        assert_eq!(col(&rows, "name"), names(&tag, &["A", "C", "E"]));
        let rows = query(srv, "accounts", &format!("{base} and createdon ge 2020-01-01T00:00:00Z"), "$select=name");
        assert_eq!(rows.len(), 5);
        let rows = query(srv, "accounts", &format!("{base} and createdon lt 2020-01-01T00:00:00Z"), "$select=name");
        assert!(rows.is_empty());
        let rows = query(srv, "accounts", &format!("{base} and modifiedon le 2999-12-31T23:59:59Z"), "$select=name");
        assert_eq!(rows.len(), 5);

        // Lookups by GUID.
        let contact = srv.create(
            "contacts",
            &json!({ "lastname": format!("Look{}", uid()), "parentcustomerid_account@odata.bind": format!("/accounts({})", ids[0]) }),
        );
        let rows = query(srv, "contacts", &format!("_parentcustomerid_value eq {}", ids[0]), "$select=fullname");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["contactid"], contact.to_string());
        let rows = query(srv, "contacts", &format!("_parentcustomerid_value eq {}", ids[1]), "$select=fullname");
        assert!(rows.is_empty());
        let admin = srv.admin_id();
        let rows = query(srv, "accounts", &format!("{base} and _ownerid_value eq {admin}"), "$select=name");
        assert_eq!(rows.len(), 5);
    });
}

#[test]
fn dataverse_query_functions() {
    each_server(|srv| {
        let (tag, _) = fixture(srv);
        let base = format!("startswith(name,'{tag}')");
        let cases: Vec<(String, Vec<String>)> = vec![
            (
                format!("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['{tag} A','{tag} D'])"),
                names(&tag, &["A", "D"]),
            ),
            // Text is matched without regard to case, as `eq` matches it.
            (
                format!(
                    "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['{}','{}'])",
                    format!("{tag} A").to_lowercase(),
                    format!("{tag} D").to_uppercase()
                ),
                names(&tag, &["A", "D"]),
            ),
            (
                format!("{base} and Microsoft.Dynamics.CRM.NotIn(PropertyName='numberofemployees',PropertyValues=['10','20'])"),
                names(&tag, &["C", "D", "E"]),
            ),
            (
                format!("{base} and Microsoft.Dynamics.CRM.Between(PropertyName='numberofemployees',PropertyValues=['20','40'])"),
                names(&tag, &["B", "C", "D"]),
            ),
            (
                format!("{base} and Microsoft.Dynamics.CRM.NotBetween(PropertyName='numberofemployees',PropertyValues=['20','40'])"),
                names(&tag, &["A", "E"]),
            ),
            (
                format!("{base} and Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=1)"),
                names(&tag, &["A", "B", "C", "D", "E"]),
            ),
            (
                format!("{base} and Microsoft.Dynamics.CRM.Today(PropertyName='createdon')"),
                names(&tag, &["A", "B", "C", "D", "E"]),
            ),
            (format!("{base} and Microsoft.Dynamics.CRM.Yesterday(PropertyName='createdon')"), vec![]),
            (
                format!("{base} and Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='createdon',PropertyValue=1)"),
                vec![],
            ),
        ];
        for (f, want) in cases {
            let rows = query(srv, "accounts", &f, "$select=name");
            assert_eq!(col(&rows, "name"), want, "[{}] $filter {f}", srv.backend);
        }
        // Parameter aliases, as the Dataverse documentation writes them.
        let q = format!(
            "$select=name&$filter=Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)&@p1={}&@p2={}",
            enc("'name'"),
            enc(&format!("['{tag} B','{tag} E']"))
        );
        let rows = srv.get(&format!("/accounts?{q}")).rows();
        assert_eq!(col(&rows, "name"), names(&tag, &["B", "E"]), "aliases");
    });
}

#[test]
fn equal_user_id_functions() {
    each_server(|srv| {
        let (tag, _) = fixture(srv);
        let base = format!("startswith(name,'{tag}')");
        let cases: Vec<(String, Vec<String>)> = vec![
            (
                format!("{base} and Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')"),
                names(&tag, &["A", "B", "C", "D", "E"]),
            ),
            (format!("{base} and Microsoft.Dynamics.CRM.NotEqualUserId(PropertyName='ownerid')"), vec![]),
        ];
        for (f, want) in cases {
            let rows = query(srv, "accounts", &f, "$select=name");
            assert_eq!(col(&rows, "name"), want, "[{}] $filter {f}", srv.backend);
        }
        // EqualUserId as another user finds none of the admin's records.
        let user = srv.new_user(&["Salesperson"]);
        let r = srv.send(srv.req_as(
            &user.token,
            reqwest::Method::GET,
            &format!(
                "/accounts?$select=name&$filter={}",
                enc(&format!("{base} and Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')"))
            ),
        ));
        assert!(r.rows().is_empty());
    });
}

#[test]
fn orderby_two_keys_and_top() {
    each_server(|srv| {
        let (tag, _) = fixture(srv);
        let base = enc(&format!("startswith(name,'{tag}')"));
        let rows = srv
            .get(&format!("/accounts?$select=name,industrycode&$filter={base}&$orderby=industrycode asc,name desc"))
            .rows();
        let got: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        let want: Vec<String> = ["E", "C", "A", "D", "B"].iter().map(|l| format!("{tag} {l}")).collect();
        assert_eq!(got, want);
        let rows =
            srv.get(&format!("/accounts?$select=name&$filter={base}&$orderby=numberofemployees desc&$top=2")).rows();
        let got: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(got, vec![format!("{tag} E"), format!("{tag} D")]);
        let rows = srv.get(&format!("/accounts?$select=name&$filter={base}&$orderby=revenue&$top=1")).rows();
        assert_eq!(rows[0]["name"], format!("{tag} A"), "asc is the default");
        // Null sorts first ascending (SQL Server semantics).
        let rows = srv.get(&format!("/accounts?$select=name&$filter={base}&$orderby=telephone1 asc,name asc")).rows();
        let got: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        let want: Vec<String> = ["C", "D", "E", "A", "B"].iter().map(|l| format!("{tag} {l}")).collect();
        assert_eq!(got, want, "nulls first");
        srv.get(&format!("/accounts?$filter={base}&$top=-1")).expect_error(400);
    });
}

#[test]
fn count_options() {
    each_server(|srv| {
        let (tag, _) = fixture(srv);
        let base = enc(&format!("startswith(name,'{tag}')"));
        let r = srv.get(&format!("/accounts?$select=name&$filter={base}&$count=true"));
        r.expect(200);
        let v = r.json();
        assert_eq!(v["@odata.count"], 5, "{v}");
        assert_eq!(v["value"].as_array().unwrap().len(), 5);
        let r = srv.get(&format!("/accounts?$select=name&$filter={base}&$count=true&$top=2"));
        let v = r.json();
        assert_eq!(v["@odata.count"], 5, "count ignores $top: {v}");
        assert_eq!(v["value"].as_array().unwrap().len(), 2);
        let r = srv.get(&format!("/accounts?$select=name&$filter={base}"));
        assert!(r.json().get("@odata.count").is_none());

        let r = srv.get("/accounts/$count");
        r.expect(200);
        let text = r.text();
        let n: i64 =
            text.trim().trim_start_matches('\u{feff}').parse().unwrap_or_else(|_| panic!("not a number: {text:?}"));
        assert!(n >= 5, "/accounts/$count = {n}");
        let ct = r.header("Content-Type").unwrap_or_default();
        assert!(ct.starts_with("text/plain"), "Content-Type {ct}");
    });
}

#[test]
fn expand_single_and_collection_navigation() {
    each_server(|srv| {
        let tag = uid();
        let acc = srv.create("accounts", &json!({ "name": format!("Exp {tag}") }));
        let mut contacts = Vec::new();
        for first in ["Alice", "Boris", "Clara", "Dmitri"] {
            contacts.push(srv.create(
                "contacts",
                &json!({ "firstname": first, "lastname": tag, "parentcustomerid_account@odata.bind": format!("/accounts({acc})") }),
            ));
        }
        srv.patch(
            &format!("/accounts({acc})"),
            &json!({ "primarycontactid@odata.bind": format!("/contacts({})", contacts[1]) }),
        )
        .expect(204);

        let v = srv.retrieve("accounts", acc, "$select=name&$expand=primarycontactid($select=fullname)");
        assert_eq!(v["primarycontactid"]["fullname"], format!("Boris {tag}"), "{v}");
        assert_eq!(v["primarycontactid"]["contactid"], contacts[1].to_string(), "{v}");

        let exp = format!(
            "contact_customer_accounts($select=fullname;$filter={};$orderby=fullname desc;$top=2)",
            enc("firstname ne 'Dmitri'")
        );
        let v = srv.retrieve("accounts", acc, &format!("$select=name&$expand={exp}"));
        let got: Vec<&str> = v["contact_customer_accounts"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|c| c["fullname"].as_str().unwrap())
            .collect();
        assert_eq!(got, vec![format!("Clara {tag}"), format!("Boris {tag}")]);

        // Expand on a collection query, and both kinds together.
        let rows = srv
            .get(&format!(
                "/accounts?$select=name&$filter={}&$expand=primarycontactid($select=fullname),contact_customer_accounts($select=firstname)",
                enc(&format!("accountid eq {acc}"))
            ))
            .rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["primarycontactid"]["fullname"], format!("Boris {tag}"));
        assert_eq!(rows[0]["contact_customer_accounts"].as_array().map(Vec::len), Some(4), "{}", rows[0]);

        // An unset lookup expands to null; an unknown navigation is a 400.
        let lonely = srv.create("accounts", &json!({ "name": format!("Lonely {tag}") }));
        let v = srv.retrieve("accounts", lonely, "$select=name&$expand=primarycontactid($select=fullname)");
        assert!(null_at(&v, "primarycontactid"), "{v}");
        srv.get(&format!("/accounts({acc})?$expand=nosuchnav")).expect_error(400);
    });
}

#[test]
fn lambda_any_over_collection_navigation() {
    each_server(|srv| {
        let tag = uid();
        let with = srv.create("accounts", &json!({ "name": format!("Lam {tag} with") }));
        let without = srv.create("accounts", &json!({ "name": format!("Lam {tag} without") }));
        srv.create("contacts", &json!({ "firstname": "Xena", "lastname": tag, "parentcustomerid_account@odata.bind": format!("/accounts({with})") }));
        srv.create("contacts", &json!({ "firstname": "Yuri", "lastname": tag, "parentcustomerid_account@odata.bind": format!("/accounts({without})") }));
        let f = format!("startswith(name,'Lam {tag}') and contact_customer_accounts/any(c:c/fullname eq 'Xena {tag}')");
        let rows = query(srv, "accounts", &f, "$select=name");
        assert_eq!(col(&rows, "name"), strs(&[&format!("Lam {tag} with")]));
        let f = format!("startswith(name,'Lam {tag}') and not contact_customer_accounts/any(c:c/firstname eq 'Xena')");
        let rows = query(srv, "accounts", &f, "$select=name");
        assert_eq!(col(&rows, "name"), strs(&[&format!("Lam {tag} without")]));
        let f = format!("startswith(name,'Lam {tag}') and contact_customer_accounts/all(c:c/firstname eq 'Yuri')");
        let rows = query(srv, "accounts", &f, "$select=name");
        assert_eq!(col(&rows, "name"), strs(&[&format!("Lam {tag} without")]));
    });
}

#[test]
fn apply_groupby_and_aggregates() {
    each_server(|srv| {
        let (tag, _) = fixture(srv);
        let f = enc(&format!("startswith(name,'{tag}')"));
        let r = srv.get(&format!("/accounts?$apply=filter({f})/groupby((industrycode),aggregate($count as count))"));
        let rows = r.rows();
        let mut got: Vec<(i64, i64)> =
            rows.iter().map(|r| (r["industrycode"].as_i64().unwrap(), r["count"].as_i64().unwrap())).collect();
        got.sort();
        assert_eq!(got, vec![(1, 3), (2, 2)], "{rows:?}");

        let r = srv.get(&format!(
            "/accounts?$apply=filter({f})/aggregate(revenue with sum as total,revenue with average as avg,revenue with max as mx,revenue with min as mn,numberofemployees with sum as emp)"
        ));
        let rows = r.rows();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        // 100.25 + 200.25 + 300.25 + 400.25 + 500.25
        assert_eq!(dec(&row["total"]), d("1501.25"), "{row}");
        assert_eq!(dec(&row["avg"]), d("300.25"), "{row}");
        assert_eq!(dec(&row["mx"]), d("500.25"), "{row}");
        assert_eq!(dec(&row["mn"]), d("100.25"), "{row}");
        assert_eq!(row["emp"], 150, "{row}");

        // Exact sums of cents that binary floating point gets wrong.
        let tag2 = format!("S{}", uid());
        for _ in 0..10 {
            srv.create("accounts", &json!({ "name": format!("{tag2} x"), "revenue": 0.1 }));
        }
        srv.create("accounts", &json!({ "name": format!("{tag2} y"), "revenue": 1234567.89 }));
        let f2 = enc(&format!("startswith(name,'{tag2}')"));
        let rows = srv.get(&format!("/accounts?$apply=filter({f2})/aggregate(revenue with sum as total)")).rows();
        assert_eq!(dec(&rows[0]["total"]), d("1234568.89"), "{:?}", rows);

        // countdistinct, and groupby without aggregate lists distinct values.
        let rows = srv
            .get(&format!("/accounts?$apply=filter({f})/aggregate(industrycode with countdistinct as kinds)"))
            .rows();
        assert_eq!(rows[0]["kinds"], 2, "{rows:?}");
        let rows = srv.get(&format!("/accounts?$apply=filter({f})/groupby((industrycode))")).rows();
        let mut kinds: Vec<i64> = rows.iter().map(|r| r["industrycode"].as_i64().unwrap()).collect();
        kinds.sort();
        assert_eq!(kinds, vec![1, 2], "{rows:?}");

        srv.get("/accounts?$apply=aggregate(name with sum as s)").expect_error(400);
        srv.get("/accounts?$apply=groupby((nosuchcolumn))").expect_error(400);
    });
}

#[test]
fn server_driven_paging_is_stable() {
    each_server(|srv| {
        let tag = format!("P{}", uid());
        // Duplicate sort keys make ties that only the primary key breaks.
        let mut expected = Vec::new();
        for i in 0..11 {
            let name = format!("{tag} {:02}", i / 2);
            let id = srv.create("accounts", &json!({ "name": name, "numberofemployees": i }));
            expected.push(id);
        }
        let f = enc(&format!("startswith(name,'{tag}')"));
        let first = format!("/accounts?$select=name,numberofemployees&$filter={f}&$orderby=name desc");
        let prefer = [("Prefer", "odata.maxpagesize=3")];
        let mut seen: Vec<(String, Uuid)> = Vec::new();
        let mut url = first.clone();
        let mut pages = 0;
        loop {
            let r = srv.get_with(&url, &prefer);
            r.expect(200);
            let applied = r.header("Preference-Applied").unwrap_or_default();
            assert!(applied.contains("odata.maxpagesize=3"), "Preference-Applied: {applied:?}");
            let v = r.json();
            let rows = v["value"].as_array().unwrap();
            assert!(rows.len() <= 3, "page of {}", rows.len());
            for row in rows {
                seen.push((
                    row["name"].as_str().unwrap().to_string(),
                    Uuid::parse_str(row["accountid"].as_str().unwrap()).unwrap(),
                ));
            }
            pages += 1;
            if pages == 1 {
                assert_eq!(rows.len(), 3);
                // Insert between pages: one that sorts before the cursor
                // (already passed) and one after.
                srv.create("accounts", &json!({ "name": format!("{tag} 99") }));
                srv.create("accounts", &json!({ "name": format!("{tag} 00 late") }));
            }
            match v["@odata.nextLink"].as_str() {
                Some(next) => {
                    assert!(next.starts_with("http"), "nextLink is absolute: {next}");
                    url = next.to_string();
                }
                None => break,
            }
            assert!(pages < 20, "paging does not end");
        }
        let ids: Vec<Uuid> = seen.iter().map(|(_, id)| *id).collect();
        let unique: HashSet<Uuid> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "a record was returned twice: {seen:?}");
        for id in &expected {
            assert!(unique.contains(id), "record {id} never returned: {seen:?}");
        }
        let names: Vec<&String> = seen.iter().map(|(n, _)| n).collect();
        let mut sorted = names.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(names, sorted, "pages are in order");
        assert!(!names.contains(&&format!("{tag} 99")), "a record inserted before the cursor appeared");
        assert!(pages >= 4, "11 records in pages of 3: {pages} pages");

        // Without the preference the page is not cut at 3.
        let r = srv.get(&first);
        assert!(r.json()["value"].as_array().unwrap().len() >= 11);
        // $top smaller than the page size: no nextLink.
        let r = srv.get_with(&format!("{first}&$top=2"), &prefer);
        let v = r.json();
        assert_eq!(v["value"].as_array().unwrap().len(), 2);
        assert!(v.get("@odata.nextLink").is_none(), "{v}");
    });
}

#[test]
fn filter_on_related_entities_and_activity_pointer_sets() {
    each_server(|srv| {
        let tag = uid();
        let acc = srv.create("accounts", &json!({ "name": format!("Nav {tag}"), "industrycode": 3 }));
        srv.create(
            "contacts",
            &json!({ "lastname": tag, "parentcustomerid_account@odata.bind": format!("/accounts({acc})") }),
        );
        // Filter on a single-valued navigation's column.
        let rows = query(
            srv,
            "contacts",
            &format!("lastname eq '{tag}' and parentcustomerid_account/industrycode eq 3"),
            "$select=fullname",
        );
        assert_eq!(rows.len(), 1);
        let rows = query(
            srv,
            "contacts",
            &format!("lastname eq '{tag}' and parentcustomerid_account/industrycode eq 4"),
            "$select=fullname",
        );
        assert!(rows.is_empty());
    });
}

//! Hostile input found by fuzzing, each at its cause: every request here once
//! answered 500 (or worse, did the wrong thing) and must now answer 4xx with
//! a message that names the problem, change nothing, and leave the server
//! serving. Runs on SQLite and PostgreSQL.

mod common;

use common::{each_server, enc, new_store, start_server_env, uid, Srv, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::json;

/// The query functions whose counts once overflowed date arithmetic when quoted.
const COUNT_FUNCTIONS: &[&str] =
    &["LastXDays", "OlderThanXDays", "LastXHours", "OlderThanXMinutes", "NextXWeeks", "NextXYears", "LastXMonths"];

fn count_filter(f: &str, value: &str) -> String {
    format!("Microsoft.Dynamics.CRM.{f}(PropertyName='createdon',PropertyValue={value})")
}

fn accounts_named(srv: &Srv, tag: &str) -> usize {
    srv.get(&format!("/accounts?$select=name&$filter={}", enc(&format!("contains(name,'{tag}')")))).rows().len()
}

#[test]
fn quoted_query_function_counts_are_range_checked() {
    each_server(|srv| {
        for f in COUNT_FUNCTIONS {
            for value in ["'2147483647'", "2147483647", "'-1'", "'9223372036854775807'", "'12abc'"] {
                let filter = count_filter(f, value);
                let msg = srv.get(&format!("/accounts?$filter={}", enc(&filter))).expect_error(400);
                assert!(msg.contains("PropertyValue"), "[{}] {filter}: {msg}", srv.backend);
                // Nested in an $expand filter.
                let expand = format!("contact_customer_accounts($filter={filter})");
                srv.get(&format!("/accounts?$expand={}", enc(&expand))).expect_error(400);
            }
            // A count in range still works, quoted or not.
            srv.get(&format!("/accounts?$filter={}", enc(&count_filter(f, "'3'")))).expect(200);
            srv.get(&format!("/accounts?$filter={}", enc(&count_filter(f, "3")))).expect(200);
        }
        // Through FetchXML and a saved view.
        let fetch = r#"<fetch><entity name="account"><attribute name="name"/><filter><condition attribute="createdon" operator="last-x-days" value="2147483647"/></filter></entity></fetch>"#;
        srv.get(&format!("/accounts?fetchXml={}", enc(fetch))).expect_error(400);
        let tag = uid();
        let created = srv.post(
            "/userqueries",
            &json!({ "name": format!("Overflow {tag}"), "returnedtypecode": "account", "querytype": 0, "fetchxml": fetch }),
        );
        if created.status == 204 || created.status == 201 {
            let id = created.entity_id();
            srv.get(&format!("/accounts?userQuery={id}")).expect_error(400);
        } else {
            created.expect_error(400);
        }
    });
}

/// The write that once panicked inside a commit group: now a 400, nothing
/// written, and ordinary writes around it all answered at once.
#[test]
fn a_bad_expand_on_create_writes_nothing_and_holds_nothing() {
    each_server(|srv| {
        let tag = uid();
        let expand = format!("contact_customer_accounts($filter={})", count_filter("LastXDays", "'2147483647'"));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let srv_api = srv.api.clone();
                let token = srv.token.clone();
                let tag = tag.clone();
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(std::time::Duration::from_secs(20))
                        .build()
                        .unwrap();
                    let started = std::time::Instant::now();
                    let r = client
                        .post(format!("{srv_api}/accounts"))
                        .bearer_auth(token)
                        .json(&json!({ "name": format!("Group {tag} {i}") }))
                        .send()
                        .unwrap();
                    (r.status().as_u16(), started.elapsed())
                })
            })
            .collect();
        let r = srv.send(
            srv.req(Method::POST, &format!("/accounts?$expand={}", enc(&expand)))
                .header("Prefer", "return=representation")
                .json(&json!({ "name": format!("Bad {tag}") })),
        );
        r.expect_error(400);
        for t in threads {
            let (status, took) = t.join().unwrap();
            assert_eq!(status, 204, "[{}] an ordinary create beside the bad one", srv.backend);
            assert!(took < std::time::Duration::from_secs(10), "[{}] a create took {took:?}", srv.backend);
        }
        let names: Vec<String> = srv
            .get(&format!("/accounts?$select=name&$filter={}", enc(&format!("contains(name,'{tag}')"))))
            .rows()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names.len(), 8, "[{}] {names:?}", srv.backend);
        assert!(!names.iter().any(|n| n.starts_with("Bad")), "the refused create wrote nothing: {names:?}");
        // The CLI beside the server can still write.
        let out =
            srv.cli(&["user", "create", "--email", &format!("cli-{tag}@relata.test"), "--password", "Cli-Passw0rd!"]);
        assert!(out.status.success(), "[{}] {}", srv.backend, String::from_utf8_lossy(&out.stderr));
    });
}

#[test]
fn fetchxml_takes_russian_values() {
    each_server(|srv| {
        let tag = uid();
        let name = format!("ООО Ромашка {tag}");
        let id = srv.create("accounts", &json!({ "name": name }));
        for op in ["eq", "like", "begins-with", "ne"] {
            let value = if op == "like" { format!("%Ромашка {tag}%") } else { name.clone() };
            let fetch = format!(
                r#"<fetch><entity name="account"><attribute name="name"/><filter><condition attribute="name" operator="{op}" value="{value}"/><condition attribute="name" operator="like" value="%{tag}%"/></filter></entity></fetch>"#
            );
            let rows = srv.get(&format!("/accounts?fetchXml={}", enc(&fetch))).expect(200).rows();
            let found = rows.iter().any(|r| r["accountid"] == id.to_string());
            assert_eq!(found, op != "ne", "[{}] {op}: {rows:?}", srv.backend);
        }
        // Values that only begin like a date or a number are text, not OData.
        for value in ["2024-01-01 or name ne null", "1 or 1 eq 1", "inf", "ООО"] {
            let fetch = format!(
                r#"<fetch><entity name="account"><attribute name="name"/><filter><condition attribute="name" operator="eq" value="{value}"/></filter></entity></fetch>"#
            );
            let rows = srv.get(&format!("/accounts?fetchXml={}", enc(&fetch))).expect(200).rows();
            assert!(rows.is_empty(), "[{}] {value}: {rows:?}", srv.backend);
        }
    });
}

#[test]
fn values_outside_a_columns_range_are_refused_by_name() {
    each_server(|srv| {
        for (filter, names) in [
            ("revenue eq 9223372036854775807", "revenue"),
            ("numberofemployees eq 9223372036854775807", "numberofemployees"),
            ("numberofemployees eq 2147483648", "numberofemployees"),
            ("exchangerate gt 100000000000000", "exchangerate"),
            ("trim(accountid) lt 'é'", "accountid"),
            ("tolower(accountid) eq 'x'", "accountid"),
            ("length(accountid) eq 3", "accountid"),
            ("length(name) eq 'x'", "literal"),
            ("tolower(name) eq 5", "literal"),
            ("createdon eq 0000-01-01T00:00:00Z", "createdon"),
        ] {
            let msg = srv.get(&format!("/accounts?$filter={}", enc(filter))).expect_error(400);
            assert!(msg.contains(names), "[{}] {filter}: {msg}", srv.backend);
        }
        let fetch = r#"<fetch><entity name="account"><attribute name="name"/><filter><condition attribute="exchangerate" operator="gt" value="99999999999999999999"/></filter></entity></fetch>"#;
        let msg = srv.get(&format!("/accounts?fetchXml={}", enc(fetch))).expect_error(400);
        assert!(msg.contains("exchangerate"), "[{}] {msg}", srv.backend);
        // In range, the same columns filter normally.
        srv.get(&format!("/accounts?$filter={}", enc("numberofemployees eq 2147483647"))).expect(200);
        srv.get(&format!("/accounts?$filter={}", enc("revenue lt 922337203685477"))).expect(200);

        // Writes: the database never sees a value it would refuse.
        let tag = uid();
        for body in [
            json!({ "name": format!("Range {tag}"), "numberofemployees": 9223372036854775807i64 }),
            json!({ "name": format!("Range {tag}"), "revenue": 1e300 }),
            json!({ "name": format!("Range {tag}"), "revenue": "-922337203685478" }),
            json!({ "name": format!("Range {tag}"), "exchangerate": 10000000000i64 }),
            json!({ "name": format!("Range {tag}"), "address1_latitude": 1e300 }),
        ] {
            let r = srv.post("/accounts", &body);
            assert_eq!(r.status, 400, "[{}] {body}: {}", srv.backend, r.text());
        }
        assert_eq!(accounts_named(srv, &tag), 0);
        for birthdate in ["-262143-01-01", "+10000-01-01T00:00:00Z", "0000-12-31"] {
            let body = json!({ "lastname": format!("Range {tag}"), "birthdate": birthdate });
            let r = srv.post("/contacts", &body);
            assert_eq!(r.status, 400, "[{}] {body}: {}", srv.backend, r.text());
        }
        let contacts =
            srv.get(&format!("/contacts?$select=lastname&$filter={}", enc(&format!("contains(lastname,'{tag}')"))));
        assert!(contacts.rows().is_empty());
    });
}

#[test]
fn delete_refuses_an_unreadable_if_match() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({ "name": format!("Kept {}", uid()) }));
        for etag in ["W/\"abc\"", "abc", "W/\"\"", "\"1\" junk"] {
            let r = srv.send(srv.req(Method::DELETE, &format!("/accounts({id})")).header("If-Match", etag));
            let msg = r.expect_error(400);
            assert!(msg.contains("ETag"), "[{}] {etag}: {msg}", srv.backend);
            srv.get(&format!("/accounts({id})?$select=name")).expect(200);
        }
        // A stale ETag is refused as before, the current one deletes.
        let etag =
            srv.get(&format!("/accounts({id})?$select=name")).json()["@odata.etag"].as_str().unwrap().to_string();
        let stale = srv.send(srv.req(Method::DELETE, &format!("/accounts({id})")).header("If-Match", "W/\"1\""));
        assert_eq!(stale.status, 412, "[{}] {}", srv.backend, stale.text());
        srv.send(srv.req(Method::DELETE, &format!("/accounts({id})")).header("If-Match", etag)).expect(204);
        srv.get(&format!("/accounts({id})")).expect_error(404);
    });
}

#[test]
fn the_calendar_stays_within_dates_that_exist() {
    each_server(|srv| {
        for date in ["-262143-01-01", "+262142-12-31", "9999-12-31", "0001-01-01", "0000-01-01", "2026-02-30"] {
            for view in ["day", "week", "month"] {
                let r = srv.page_as(&srv.token, &format!("/ui/calendar?view={view}&date={}", enc(date)));
                assert_eq!(r.status, 200, "[{}] {view} {date}: {}", srv.backend, r.text());
            }
        }
        // The audit page's day filter takes the same dates.
        let r = srv.page_as(&srv.token, "/ui/settings/audit?from=-262143-01-01&to=%2B262142-12-31");
        assert!(r.status < 500, "[{}] audit: {}", srv.backend, r.status);
    });
}

#[test]
fn sign_in_goes_only_to_local_paths() {
    each_server(|srv| {
        for next in ["%2F%09%2Fevil.example", "%2F%2Fevil.example", "%2F%5Cevil.example", "https%3A%2F%2Fevil.example"]
        {
            let form = srv.send(srv.raw(Method::GET, &format!("{}/signin", srv.base_url)));
            let cookie = form
                .headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("relata_csrf="))
                .and_then(|v| v.split(';').next())
                .unwrap()
                .to_string();
            let html = form.text();
            let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
            let csrf = html[at..].split('"').next().unwrap().to_string();
            let r = srv.send(
                srv.raw(Method::POST, &format!("{}/signin?next={next}", srv.base_url))
                    .header("Cookie", cookie)
                    .form(&[("csrf", csrf.as_str()), ("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]),
            );
            assert_eq!(r.header("location").as_deref(), Some("/"), "[{}] next={next}", srv.backend);
        }
    });
}

#[test]
fn echoed_prefer_is_bounded() {
    each_server(|srv| {
        let huge =
            format!("odata.include-annotations=\"{}\"", "OData.Community.Display.V1.FormattedValue,".repeat(1700));
        assert!(huge.len() > 70_000);
        let r = srv.send(srv.req(Method::GET, "/accounts?$top=1&$select=name").header("Prefer", &huge));
        r.expect(200);
        let applied = r.header("preference-applied").unwrap_or_default();
        assert!(applied.len() < 4096, "[{}] Preference-Applied is {} bytes", srv.backend, applied.len());
        assert!(applied.contains("FormattedValue"), "[{}] {applied}", srv.backend);
        // Not an annotation name: ignored, not echoed.
        let r = srv.send(
            srv.req(Method::GET, "/accounts?$top=1&$select=name")
                .header("Prefer", "odata.include-annotations=\"<script>alert(1)</script>\""),
        );
        r.expect(200);
        assert!(!r.header("preference-applied").unwrap_or_default().contains("script"));
    });
}

/// `/metrics` answers local clients by default, a bearer token when one is
/// configured, and nobody else.
#[test]
fn metrics_are_off_the_public_surface() {
    for backend in common::backends() {
        // Behind a trusted proxy, a remote client's request arrives from loopback.
        let store = new_store(backend);
        let (base, _child, _stdin) = start_server_env(&store, &[("RELATA_TRUST_FORWARDED_FOR", "true")]);
        let client = reqwest::blocking::Client::new();
        let local = client.get(format!("{base}/metrics")).send().unwrap();
        assert_eq!(local.status(), 200, "[{backend}] a local client reads metrics");
        let remote = client.get(format!("{base}/metrics")).header("X-Forwarded-For", "203.0.113.9").send().unwrap();
        assert_eq!(remote.status(), 404, "[{backend}] a remote client behind the proxy does not");
        let body = remote.text().unwrap();
        assert!(!body.contains("relata_http_requests_total"), "[{backend}] {body}");

        let store = new_store(backend);
        let (base, _child, _stdin) = start_server_env(&store, &[("RELATA_METRICS_TOKEN", "scrape-secret-1")]);
        assert_eq!(client.get(format!("{base}/metrics")).send().unwrap().status(), 401, "[{backend}] token required");
        let wrong = client.get(format!("{base}/metrics")).bearer_auth("scrape-secret-2").send().unwrap();
        assert_eq!(wrong.status(), 401, "[{backend}] wrong token");
        let ok = client.get(format!("{base}/metrics")).bearer_auth("scrape-secret-1").send().unwrap();
        assert_eq!(ok.status(), 200, "[{backend}] the configured token reads metrics");
        assert!(ok.text().unwrap().contains("relata_"), "[{backend}] metrics text");
    }
}

/// Comparisons whose two sides the databases cannot compare, query functions
/// on the wrong kind of column, dates past year 9999 computed from a count,
/// and text PostgreSQL cannot hold: all 400s that say why.
#[test]
fn mismatched_operands_and_unstorable_text_are_refused() {
    use base64::Engine as _;
    each_server(|srv| {
        for (filter, says) in [
            ("statecode eq accountid", "cannot be compared"),
            ("month(createdon) ge name", "cannot be compared"),
            ("industrycode eq createdon", "cannot be compared"),
            ("revenue eq numberofemployees", "cannot be compared"),
            ("primarycontactid/fullname eq revenue", "cannot be compared"),
            ("length(name) gt ''", "literal"),
            ("statecode eq 2147483648", "statecode"),
            ("Microsoft.Dynamics.CRM.EqualUserId(PropertyName='name')", "lookup"),
            ("Microsoft.Dynamics.CRM.EqualBusinessId(PropertyName='revenue')", "lookup"),
            ("Microsoft.Dynamics.CRM.EqualUserOrUserTeams(PropertyName='createdon')", "lookup"),
            ("Microsoft.Dynamics.CRM.LastXMonths(PropertyName='createdon',PropertyValue=100000)", "out of range"),
            ("Microsoft.Dynamics.CRM.OlderThanXYears(PropertyName='createdon',PropertyValue=100000)", "out of range"),
            ("Microsoft.Dynamics.CRM.NextXYears(PropertyName='createdon',PropertyValue=100000)", "out of range"),
            ("contains(name,'a\u{0}b')", "NUL"),
            ("name eq 'a\u{0}b'", "NUL"),
        ] {
            let msg = srv.get(&format!("/accounts?$filter={}", enc(filter))).expect_error(400);
            assert!(msg.contains(says), "[{}] {filter}: {msg}", srv.backend);
        }
        // Lambda bodies and $apply go through the same checks.
        let any = "contact_customer_accounts/any(c:c/fullname eq c/birthdate)";
        srv.get(&format!("/accounts?$filter={}", enc(any))).expect_error(400);
        srv.get(&format!("/accounts?$apply={}", enc("filter(numberofemployees eq 2147483648)"))).expect_error(400);
        let fetch = r#"<fetch><entity name="account"><attribute name="name"/><filter><condition attribute="name" operator="eq-userid"/></filter></entity></fetch>"#;
        srv.get(&format!("/accounts?fetchXml={}", enc(fetch))).expect_error(400);
        // What stays allowed: numbers with numbers, ids with the caller.
        srv.get(&format!("/accounts?$filter={}", enc("numberofemployees gt statecode"))).expect(200);
        srv.get(&format!("/accounts?$filter={}", enc("Microsoft.Dynamics.CRM.EqualUserId(PropertyName='ownerid')")))
            .expect(200);
        srv.get(&format!(
            "/accounts?$filter={}",
            enc("Microsoft.Dynamics.CRM.LastXMonths(PropertyName='createdon',PropertyValue=1200)")
        ))
        .expect(200);

        // A $skiptoken is client input too: a sort value beyond its column's type.
        let id = uuid::Uuid::new_v4();
        for (orderby, value) in [("numberofemployees", json!(1i64 << 40)), ("revenue", json!("923372080812356"))] {
            let token =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([value, id.to_string()]).to_string());
            let msg =
                srv.get(&format!("/accounts?$select=name&$orderby={orderby}&$skiptoken={token}")).expect_error(400);
            assert!(msg.contains("skiptoken"), "[{}] {orderby}: {msg}", srv.backend);
        }

        // Writes: NUL in text is refused by name and nothing is written or changed.
        let tag = uid();
        let r = srv.post("/accounts", &json!({ "name": format!("Nul {tag}\u{0}") }));
        let msg = r.expect_error(400);
        assert!(msg.contains("name") && msg.contains("NUL"), "[{}] {msg}", srv.backend);
        assert_eq!(accounts_named(srv, &tag), 0);
        let id = srv.create("accounts", &json!({ "name": format!("Nul {tag}") }));
        let msg = srv.patch(&format!("/accounts({id})"), &json!({ "description": "x\u{0}y" })).expect_error(400);
        assert!(msg.contains("description"), "[{}] {msg}", srv.backend);
        let row = srv.get(&format!("/accounts({id})?$select=description")).json();
        assert!(row["description"].is_null(), "[{}] {row}", srv.backend);
    });
}

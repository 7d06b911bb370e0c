//! Lists in the web interface at the HTTP level: system and personal
//! views, column filters, bulk actions, export, and the lookups of record
//! forms. (`ui_lists.mjs` drives the same screens in Chromium.)

mod common;

use std::io::Read as _;

use common::{each_server, uid};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// The ids of the rows a list page shows.
fn row_ids(html: &str) -> Vec<Uuid> {
    html.split("<tr data-id=\"").skip(1).filter_map(|s| Uuid::parse_str(&s[..36]).ok()).collect()
}

fn enc(s: &str) -> String {
    common::enc(s)
}

#[test]
fn system_views_filters_and_personal_views() {
    each_server(|srv| {
        let tag = uid();
        let token = &srv.token;
        let active = srv.create("accounts", &json!({ "name": format!("View {tag} active") }));
        let inactive = srv.create("accounts", &json!({ "name": format!("View {tag} inactive") }));
        srv.patch(&format!("/accounts({inactive})"), &json!({ "statecode": 1, "statuscode": 2 })).expect(204);

        // The default system view shows active accounts only, and names itself.
        let html = srv.page_as(token, &format!("/ui/accounts?q={}", enc(&tag))).text();
        assert!(html.contains(">Active Accounts</option>"), "{html}");
        assert_eq!(row_ids(&html), [active]);
        // Another system view, picked by its id.
        let views = srv
            .get("/savedqueries?$select=name&$filter=returnedtypecode eq 'account' and name eq 'Inactive Accounts'")
            .rows();
        let inactive_view = views[0]["savedqueryid"].as_str().unwrap().to_string();
        let html = srv.page_as(token, &format!("/ui/accounts?view=s%3A{inactive_view}&q={}", enc(&tag))).text();
        assert_eq!(row_ids(&html), [inactive]);

        // Column filters on opportunities: numbers with >, ranges, and a bad value named.
        let small = srv.create(
            "opportunities",
            &json!({ "name": format!("Opp {tag} small"), "isrevenuesystemcalculated": false, "estimatedvalue": 100 }),
        );
        let big = srv.create(
            "opportunities",
            &json!({ "name": format!("Opp {tag} big"), "isrevenuesystemcalculated": false, "estimatedvalue": 5000 }),
        );
        let base = format!("/ui/opportunities?q={}", enc(&tag));
        let html = srv.page_as(token, &base).text();
        let mut both = row_ids(&html);
        both.sort();
        let mut expected = vec![small, big];
        expected.sort();
        assert_eq!(both, expected);
        // Money shows with its currency's symbol and precision.
        assert!(html.contains("5,000.00"), "{html}");
        let html = srv.page_as(token, &format!("{base}&f.estimatedvalue={}", enc(">1000"))).text();
        assert_eq!(row_ids(&html), [big], "{html}");
        let html = srv.page_as(token, &format!("{base}&f.estimatedvalue={}", enc("50..200"))).text();
        assert_eq!(row_ids(&html), [small]);
        let html = srv.page_as(token, &format!("{base}&f.estimatedvalue=lots")).text();
        assert!(html.contains("data-testid=\"list-error\""), "{html}");
        assert!(html.contains("Est. Revenue") || html.contains("Estimated"), "the message names the column: {html}");

        // Saving the filtered list as a personal view.
        let csrf = srv.csrf_of(token);
        let r = srv.form_as(
            token,
            "/ui/opportunities/views",
            &[
                ("csrf", csrf.clone()),
                ("name", format!("Big {tag}")),
                ("q", tag.clone()),
                ("f.estimatedvalue", ">1000".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let to = r.header("location").unwrap();
        assert!(to.starts_with("/ui/opportunities?view=u%3A"), "{to}");
        assert_eq!(row_ids(&srv.page_as(token, &to).text()), [big]);
        let saved = srv.get(&format!("/userqueries?$select=name,fetchxml&$filter=name eq 'Big {tag}'")).rows();
        assert_eq!(saved.len(), 1);
        assert!(saved[0]["fetchxml"].as_str().unwrap().contains("operator=\"gt\" value=\"1000\""), "{}", saved[0]);

        // Another user does not see it; a forged delete of it by them changes nothing.
        let other = srv.new_user(&["Salesperson"]);
        let html = srv.page_as(&other.token, "/ui/opportunities").text();
        assert!(!html.contains(&format!("Big {tag}")), "{html}");
        let view_id = to.trim_start_matches("/ui/opportunities?view=u%3A").to_string();
        let r = srv.form_as(
            &other.token,
            &format!("/ui/opportunities/views/{view_id}/delete"),
            &[("csrf", srv.csrf_of(&other.token))],
        );
        assert!(r.status == 403 || r.status == 404, "{} {}", r.status, r.text());
        assert_eq!(srv.get(&format!("/userqueries?$filter=name eq 'Big {tag}'")).rows().len(), 1);
        // Its owner deletes it.
        let r = srv.form_as(token, &format!("/ui/opportunities/views/{view_id}/delete"), &[("csrf", csrf)]);
        assert_eq!(r.status, 303);
        assert_eq!(srv.get(&format!("/userqueries?$filter=name eq 'Big {tag}'")).rows().len(), 0);
        // Without the CSRF value nothing is saved.
        let r = srv.form_as(token, "/ui/opportunities/views", &[("name", format!("No {tag}"))]);
        assert_eq!(r.status, 403);
        assert_eq!(srv.get(&format!("/userqueries?$filter=name eq 'No {tag}'")).rows().len(), 0);
    });
}

#[test]
fn bulk_actions_are_all_or_nothing() {
    each_server(|srv| {
        let tag = uid();
        let token = &srv.token;
        let a = srv.create("accounts", &json!({ "name": format!("Bulk {tag} a") }));
        let b = srv.create("accounts", &json!({ "name": format!("Bulk {tag} b") }));
        let csrf = srv.csrf_of(token);
        let bulk = |token: &str, csrf: &str, action: &str, ids: &[Uuid], extra: &[(&str, String)]| {
            let mut form = vec![("csrf", csrf.to_string()), ("action", action.to_string())];
            form.extend(ids.iter().map(|i| ("ids", i.to_string())));
            form.extend(extra.iter().cloned());
            srv.form_as(token, "/ui/accounts/bulk", &form)
        };
        let state = |id: Uuid| srv.retrieve("accounts", id, "$select=statecode")["statecode"].as_i64().unwrap();

        let r = bulk(token, &csrf, "deactivate", &[a, b], &[]);
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(r.header("location").unwrap().contains("done="));
        assert_eq!((state(a), state(b)), (1, 1));
        assert_eq!(bulk(token, &csrf, "activate", &[a, b], &[]).status, 303);
        assert_eq!((state(a), state(b)), (0, 0));

        // Assign both to a salesperson.
        let rep = srv.new_user(&["Salesperson"]);
        let r = bulk(token, &csrf, "assign", &[a, b], &[("owner", format!("systemuser:{}", rep.id))]);
        assert_eq!(r.status, 303, "{}", r.text());
        for id in [a, b] {
            assert_eq!(srv.retrieve("accounts", id, "$select=_ownerid_value")["_ownerid_value"], rep.id.to_string());
        }
        // Assign without an owner: a message, nothing changed.
        let r = bulk(token, &csrf, "assign", &[a], &[]);
        assert_eq!(r.status, 400, "{}", r.text());

        // The salesperson deletes their own record and someone else's in one go:
        // refused, and their own record is still there.
        let foreign = srv.create("accounts", &json!({ "name": format!("Bulk {tag} foreign") }));
        let rep_csrf = srv.csrf_of(&rep.token);
        let r = bulk(&rep.token, &rep_csrf, "delete", &[a, foreign], &[]);
        assert!(r.status >= 400, "{} {}", r.status, r.text());
        assert_eq!(srv.get(&format!("/accounts({a})?$select=name")).status, 200);
        assert_eq!(srv.get(&format!("/accounts({foreign})?$select=name")).status, 200);
        // A record they may not read is, to them, a record that does not exist.
        assert!(r.text().contains("Does Not Exist"), "the refusal says why: {}", r.text());
        // In Russian, the engine's refusal is Russian.
        let ru =
            [("csrf", rep_csrf.clone()), ("zone", "UTC".into()), ("language", "1049".into()), ("locale", "".into())];
        assert_eq!(srv.form_as(&rep.token, "/ui/preferences", &ru).status, 303);
        let r = bulk(&rep.token, &rep_csrf, "delete", &[a, foreign], &[]);
        let text = r.text();
        assert!(text.contains("не существует или недоступна вам"), "{text}");
        assert!(!text.contains("Does Not Exist"), "{text}");
        // Their own record alone is deleted.
        assert_eq!(bulk(&rep.token, &rep_csrf, "delete", &[a], &[]).status, 303);
        assert_eq!(srv.get(&format!("/accounts({a})?$select=name")).status, 404);

        // Nothing selected, an unknown action, or no CSRF value: refused.
        assert_eq!(bulk(token, &csrf, "delete", &[], &[]).status, 400);
        assert_eq!(bulk(token, &csrf, "explode", &[b], &[]).status, 403);
        let r = srv.form_as(token, "/ui/accounts/bulk", &[("action", "delete".into()), ("ids", b.to_string())]);
        assert_eq!(r.status, 403);
        assert_eq!(srv.get(&format!("/accounts({b})?$select=name")).status, 200);
    });
}

#[test]
fn export_follows_the_list_and_the_privilege() {
    each_server(|srv| {
        let tag = uid();
        let token = &srv.token;
        for (name, phone) in [("Алиса", "111"), ("Bob, Ltd", "222"), ("Carol", "333")] {
            srv.create("accounts", &json!({ "name": format!("Export {tag} {name}"), "telephone1": phone }));
        }
        let q = format!("q={}&f.telephone1=2", enc(&format!("Export {tag}")));
        let r = srv.page_as(token, &format!("/ui/accounts/export?format=csv&{q}"));
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.header("content-disposition").unwrap().contains("accounts.csv"));
        let body = r.text();
        let body = body.trim_start_matches('\u{feff}');
        let mut lines = body.lines();
        assert_eq!(lines.next().unwrap(), "Account Name,Main Phone,Address 1: City,Primary Contact,Owner");
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows, [format!("\"Export {tag} Bob, Ltd\",222,,,Test Admin")]);

        let r = srv.send(
            srv.raw(
                Method::GET,
                &format!("{}/ui/accounts/export?format=xlsx&q={}", srv.base_url, enc(&format!("Export {tag}"))),
            )
            .header("Cookie", format!("relata_session={token}")),
        );
        assert_eq!(r.status, 200);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(r.body.clone())).expect("xlsx is a zip");
        let mut strings = String::new();
        zip.by_name("xl/sharedStrings.xml").expect("shared strings").read_to_string(&mut strings).unwrap();
        assert!(strings.contains(&format!("Export {tag} Алиса")), "{strings}");
        assert!(strings.contains("Account Name"));

        assert_eq!(srv.page_as(token, "/ui/accounts/export?format=pdf").status, 400);

        // A user without prvExportToExcel sees no export links and is refused.
        let role = format!("No export {tag}");
        srv.cli(&["role", "create", "--name", &role]);
        srv.cli(&["role", "grant", "--role", &role, "--entity", "account", "--rights", "read", "--depth", "global"]);
        let reader = srv.new_user(&[&role]);
        let html = srv.page_as(&reader.token, "/ui/accounts").text();
        assert!(!html.contains("data-testid=\"export-csv\""), "{html}");
        assert_eq!(srv.page_as(&reader.token, "/ui/accounts/export?format=csv").status, 403);
        // Nor bulk actions: they may only read.
        assert!(!html.contains("data-testid=\"bulk\""), "{html}");
    });
}

#[test]
fn lookups_suggest_resolve_and_prefill() {
    each_server(|srv| {
        let tag = uid();
        let token = &srv.token;
        let acme = srv.create("accounts", &json!({ "name": format!("Lookup {tag} Acme") }));
        srv.create("accounts", &json!({ "name": format!("Lookup {tag} Twin") }));
        srv.create("accounts", &json!({ "name": format!("Lookup {tag} Twin") }));

        // Type-ahead: what the user may read, by name.
        let r =
            srv.page_as(token, &format!("/ui/lookup?targets=account,contact&q={}", enc(&format!("Lookup {tag} Ac"))));
        assert_eq!(r.status, 200);
        let found: serde_json::Value = r.json();
        assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
        assert_eq!(found[0]["value"], format!("account:{acme}"));
        let rep = srv.new_user(&["Salesperson"]);
        let found: serde_json::Value =
            srv.page_as(&rep.token, &format!("/ui/lookup?targets=account&q={}", enc(&tag))).json();
        assert_eq!(found.as_array().unwrap().len(), 0, "a salesperson sees only their own accounts: {found}");

        // Prefill from a subgrid's New link.
        let html = srv.page_as(token, &format!("/ui/contacts/new?parentcustomerid=account:{acme}")).text();
        assert!(html.contains(&format!("value=\"account:{acme}\"")), "{html}");
        assert!(html.contains(&format!("value=\"Lookup {tag} Acme\"")), "{html}");

        let csrf = srv.csrf_of(token);
        let create = |text: &str, picked: &str| {
            srv.form_as(
                token,
                "/ui/contacts/new",
                &[
                    ("csrf", csrf.clone()),
                    ("lastname", format!("Contact {tag}")),
                    ("parentcustomerid", picked.to_string()),
                    ("parentcustomerid__text", text.to_string()),
                ],
            )
        };
        // A typed name that matches one record is taken without a script.
        let r = create(&format!("Lookup {tag} Acme"), "");
        assert_eq!(r.status, 303, "{}", r.text());
        let to = r.header("location").unwrap();
        let id = Uuid::parse_str(to.rsplit('/').next().unwrap()).expect("the new contact's page");
        let c = srv.retrieve("contacts", id, "$select=_parentcustomerid_value");
        assert_eq!(c["_parentcustomerid_value"], acme.to_string());
        // Two records of that name: the field says so, nothing is created.
        let before = srv.get(&format!("/contacts?$filter=lastname eq 'Contact {tag}'&$count=true")).rows().len();
        let r = create(&format!("Lookup {tag} Twin"), "");
        assert_eq!(r.status, 400);
        assert!(r.text().contains("Several records"), "{}", r.text());
        let r = create("No such company", "");
        assert_eq!(r.status, 400);
        assert!(r.text().contains("Nothing is named"), "{}", r.text());
        let after = srv.get(&format!("/contacts?$filter=lastname eq 'Contact {tag}'")).rows().len();
        assert_eq!(before, after);
        // A record picked from the suggestions wins over the typed text.
        let r = create("anything", &format!("account:{acme}"));
        assert_eq!(r.status, 303, "{}", r.text());
    });
}

#[test]
fn lists_and_forms_in_chromium() {
    each_server(|srv| {
        let tag = uid();
        let active = srv.create("accounts", &json!({ "name": format!("Chromium {tag} active") }));
        let inactive = srv.create("accounts", &json!({ "name": format!("Chromium {tag} inactive") }));
        srv.patch(&format!("/accounts({inactive})"), &json!({ "statecode": 1, "statuscode": 2 })).expect(204);
        srv.create(
            "opportunities",
            &json!({ "name": format!("Opp {tag} small"), "isrevenuesystemcalculated": false, "estimatedvalue": 10 }),
        );
        let big = srv.create(
            "opportunities",
            &json!({ "name": format!("Opp {tag} big"), "isrevenuesystemcalculated": false, "estimatedvalue": 9000 }),
        );
        let bulk: Vec<Uuid> =
            (1..=3).map(|i| srv.create("accounts", &json!({ "name": format!("Bulk {tag} {i}") }))).collect();
        let company = format!("Company {tag} Typeahead");
        let company_id = srv.create("accounts", &json!({ "name": company }));
        common::run_ui_script(
            srv,
            "lists.mjs",
            &[
                ("RELATA_ADMIN_TOKEN", srv.token.clone()),
                ("RELATA_TAG", tag.clone()),
                ("RELATA_ACTIVE_ID", active.to_string()),
                ("RELATA_INACTIVE_ID", inactive.to_string()),
                ("RELATA_BIG_ID", big.to_string()),
                ("RELATA_BULK_IDS", serde_json::to_string(&bulk[..2]).unwrap()),
                ("RELATA_COMPANY_NAME", company.clone()),
                ("RELATA_COMPANY_ID", company_id.to_string()),
            ],
        );
    });
}

/// Dynamics clients run views through the Web API: `savedQuery`,
/// `userQuery` and `fetchXml` on an entity set.
#[test]
fn views_run_through_the_web_api() {
    each_server(|srv| {
        let tag = uid();
        let a = srv.create("accounts", &json!({ "name": format!("Api {tag} a") }));
        let b = srv.create("accounts", &json!({ "name": format!("Api {tag} b") }));
        srv.patch(&format!("/accounts({b})"), &json!({ "statecode": 1, "statuscode": 2 })).expect(204);
        let fetch = format!(
            r#"<fetch><entity name="account"><attribute name="name"/><order attribute="name"/><filter><condition attribute="name" operator="like" value="Api {tag}%"/></filter></entity></fetch>"#
        );
        let rows = srv.get(&format!("/accounts?fetchXml={}", enc(&fetch))).expect(200).rows();
        let ids: Vec<String> = rows.iter().map(|r| r["accountid"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids, [a.to_string(), b.to_string()]);

        let inactive = srv
            .get("/savedqueries?$select=name&$filter=returnedtypecode eq 'account' and name eq 'Inactive Accounts'")
            .rows()[0]["savedqueryid"]
            .as_str()
            .unwrap()
            .to_string();
        let rows = srv.get(&format!("/accounts?savedQuery={inactive}")).expect(200).rows();
        assert!(rows.iter().any(|r| r["accountid"] == b.to_string()));
        assert!(!rows.iter().any(|r| r["accountid"] == a.to_string()));

        let uq = srv.create(
            "userqueries",
            &json!({ "name": format!("Mine {tag}"), "returnedtypecode": "account", "querytype": 0, "fetchxml": fetch }),
        );
        assert_eq!(srv.get(&format!("/accounts?userQuery={uq}")).expect(200).rows().len(), 2);

        // Errors name the problem.
        let m = srv.get(&format!("/contacts?fetchXml={}", enc(&fetch))).expect_error(400);
        assert!(m.contains("account"), "{m}");
        let m = srv.get(&format!("/accounts?fetchXml={}&$top=1", enc(&fetch))).expect_error(400);
        assert!(m.contains("$top"), "{m}");
        let m = srv.get(&format!("/accounts?fetchXml={}", enc("<fetch><entity name=\"account\">"))).expect_error(400);
        assert!(m.contains("FetchXML"), "{m}");
        srv.get(&format!("/accounts?savedQuery={}", Uuid::now_v7())).expect(404);
    });
}

/// A secured column the user may not read is not a column of their lists,
/// nor of their exports; it is not on their forms either.
#[test]
fn secured_columns_are_left_out() {
    each_server(|srv| {
        let attr = "EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='telephone1')";
        srv.patch(&format!("/{attr}"), &json!({ "IsSecured": true })).expect(204);
        let rep = srv.new_user(&["Salesperson"]);
        let header = |token: &str| {
            let html = srv.page_as(token, "/ui/contacts").text();
            html.contains("data-sort=\"telephone1\"")
        };
        assert!(header(&srv.token), "the administrator sees the column");
        assert!(!header(&rep.token), "the salesperson does not");
        let csv = srv.page_as(&rep.token, "/ui/contacts/export?format=csv").text();
        assert!(!csv.lines().next().unwrap_or("").contains("Business Phone"), "{csv}");
        let form = srv.page_as(&rep.token, "/ui/contacts/new").text();
        assert!(!form.contains("name=\"telephone1\""), "the form leaves it out");
        srv.patch(&format!("/{attr}"), &json!({ "IsSecured": false })).expect(204);
    });
}

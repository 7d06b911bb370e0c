//! The sales scenario end to end in Chromium (tests/ui/sales.mjs): a
//! Salesperson signs in, creates an account and a contact, qualifies a
//! lead, moves the opportunity across the pipeline board, prices it,
//! produces a quote, an order and an invoice, marks it paid and wins the
//! opportunity; a Sales Manager of the same business unit sees the rep's
//! account but not another unit's; the interface switches to Russian.
//! The catalog (price list, product) is the administrator's, made here.

mod common;

use serde_json::json;
use uuid::Uuid;

use common::{each_server, last_line, uid, Srv, USER_PASSWORD};

/// A business unit under the root, made through the CLI: its name.
fn business_unit(srv: &Srv, label: &str) -> String {
    let name = format!("{label} {}", uid());
    let out = srv.cli(&["bu", "create", "--name", &name]);
    assert!(out.status.success(), "bu create: {}", String::from_utf8_lossy(&out.stderr));
    name
}

/// A user in a business unit with one role: (email, token, id).
fn user_in(srv: &Srv, unit: &str, role: &str, name: &str) -> (String, String, Uuid) {
    let email = format!("sales-{}@relata.test", uid());
    let out = srv.cli(&[
        "user",
        "create",
        "--email",
        &email,
        "--password",
        USER_PASSWORD,
        "--name",
        name,
        "--business-unit",
        unit,
        "--role",
        role,
    ]);
    assert!(out.status.success(), "user create: {}", String::from_utf8_lossy(&out.stderr));
    let token = last_line(&srv.cli(&["token", "create", "--email", &email]).stdout);
    let id = Uuid::parse_str(srv.whoami_as(&token)["UserId"].as_str().unwrap()).unwrap();
    (email, token, id)
}

#[test]
fn sales_scenario_in_chromium() {
    each_server(|srv| {
        let tag = uid();
        let east = business_unit(srv, "East");
        let west = business_unit(srv, "West");
        let (rep_email, rep_token, _) = user_in(srv, &east, "Salesperson", &format!("Rep {tag}"));
        let (manager_email, _, _) = user_in(srv, &east, "Sales Manager", &format!("Manager {tag}"));
        let (_, west_token, _) = user_in(srv, &west, "Salesperson", &format!("West {tag}"));
        let west_account = format!("West {tag} account");
        srv.send(srv.req_as(&west_token, reqwest::Method::POST, "/accounts").json(&json!({ "name": west_account })))
            .expect(204);

        // The catalog the rep sells from.
        let currency = srv.get("/transactioncurrencies?$select=isocurrencycode&$top=1").rows()[0]
            ["transactioncurrencyid"]
            .as_str()
            .unwrap()
            .to_string();
        let price_list_name = format!("Prices {tag}");
        let price_list = srv.create(
            "pricelevels",
            &json!({ "name": price_list_name, "transactioncurrencyid@odata.bind": format!("/transactioncurrencies({currency})") }),
        );
        let schedule = srv.get("/uomschedules?$select=name&$filter=name eq 'Default Unit'").rows()[0]["uomscheduleid"]
            .as_str()
            .unwrap()
            .to_string();
        let unit = srv.get(&format!("/uoms?$select=name&$filter=_uomscheduleid_value eq {schedule}")).rows()[0]
            ["uomid"]
            .as_str()
            .unwrap()
            .to_string();
        let product_name = format!("Widget {tag}");
        let product = srv.create(
            "products",
            &json!({
                "name": product_name, "productnumber": format!("W-{tag}"),
                "defaultuomscheduleid@odata.bind": format!("/uomschedules({schedule})"),
                "defaultuomid@odata.bind": format!("/uoms({unit})"),
            }),
        );
        srv.post(
            "/productpricelevels",
            &json!({
                "pricelevelid@odata.bind": format!("/pricelevels({price_list})"),
                "productid@odata.bind": format!("/products({product})"),
                "uomid@odata.bind": format!("/uoms({unit})"),
                "amount": 250,
            }),
        )
        .expect(204);

        common::run_ui_script(
            srv,
            "sales.mjs",
            &[
                ("RELATA_TAG", tag.clone()),
                ("RELATA_REP_EMAIL", rep_email.clone()),
                ("RELATA_REP_TOKEN", rep_token.clone()),
                ("RELATA_MANAGER_EMAIL", manager_email.clone()),
                ("RELATA_WEST_ACCOUNT", west_account.clone()),
                ("RELATA_PRICE_LIST", price_list_name.clone()),
                ("RELATA_PRODUCT", product_name.clone()),
            ],
        );
    });
}

/// Moves on the board are updates like any other: the engine's rights and
/// the process's stages decide, and a forged move changes nothing.
#[test]
fn board_moves_are_checked() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let other = srv.new_user(&["Salesperson"]);
        let opp = {
            let r = srv.send(
                srv.req_as(&rep.token, reqwest::Method::POST, "/opportunities")
                    .json(&json!({ "name": format!("Board {tag}") })),
            );
            r.expect(204);
            r.entity_id()
        };
        let stages: Vec<(String, String)> = srv
            .get("/processstages?$select=stagename&$orderby=relata_stageorder")
            .rows()
            .iter()
            .map(|r| (r["processstageid"].as_str().unwrap().to_string(), r["stagename"].as_str().unwrap().to_string()))
            .collect();
        let propose = stages.iter().find(|s| s.1 == "Propose").expect("the default process has Propose").0.clone();
        let step =
            || srv.retrieve("opportunities", opp, "$select=stepname")["stepname"].as_str().unwrap_or("").to_string();
        let before = step();
        let post = |token: &str, form: &[(&str, String)], json: bool| {
            let mut rb = srv
                .raw(reqwest::Method::POST, &format!("{}/ui/board/pipeline/move", srv.base_url))
                .header("Cookie", format!("relata_session={token}"))
                .form(form);
            if json {
                rb = rb.header("Accept", "application/json");
            }
            srv.send(rb)
        };

        // Another Salesperson cannot see the card, let alone move it.
        let board = srv.page_as(&other.token, "/ui/board/pipeline").text();
        assert!(!board.contains(&format!("Board {tag}")), "{board}");
        let r = post(
            &other.token,
            &[("csrf", srv.csrf_of(&other.token)), ("id", opp.to_string()), ("stage", propose.clone())],
            true,
        );
        assert!(r.status == 403 || r.status == 404, "{} {}", r.status, r.text());
        assert_eq!(step(), before);
        // Without the CSRF value: refused.
        let r = post(&rep.token, &[("id", opp.to_string()), ("stage", propose.clone())], true);
        assert_eq!(r.status, 403);
        assert_eq!(step(), before);
        // A stage that is not one of the process's: a message, nothing changed.
        let csrf = srv.csrf_of(&rep.token);
        let r = post(
            &rep.token,
            &[("csrf", csrf.clone()), ("id", opp.to_string()), ("stage", Uuid::now_v7().to_string())],
            true,
        );
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(step(), before);
        // The owner moves it.
        let r = post(&rep.token, &[("csrf", csrf), ("id", opp.to_string()), ("stage", propose)], true);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["ok"], true);
        assert_eq!(step(), "Propose");
        let board = srv.page_as(&rep.token, "/ui/board/pipeline?mine=1").text();
        assert!(board.contains(&format!("Board {tag}")));
        assert!(board.contains("<svg"), "the pipeline chart is drawn on the server");
    });
}

/// The dashboard's charts count what the user may see, by role.
#[test]
fn dashboards_follow_the_user_and_their_role() {
    each_server(|srv| {
        let rep = srv.new_user(&["Salesperson"]);
        let as_rep = |method: reqwest::Method, path: &str, body: serde_json::Value| {
            srv.send(srv.req_as(&rep.token, method, path).json(&body))
        };
        for _ in 0..3 {
            as_rep(
                reqwest::Method::POST,
                "/leads",
                json!({ "subject": "Ad lead", "lastname": "L", "leadsourcecode": 1 }),
            )
            .expect(204);
        }
        let opp = as_rep(
            reqwest::Method::POST,
            "/opportunities",
            json!({ "name": "Won one", "isrevenuesystemcalculated": false, "estimatedvalue": 1234 }),
        );
        opp.expect(204);
        let opp = opp.entity_id();
        as_rep(
            reqwest::Method::POST,
            "/WinOpportunity",
            json!({ "OpportunityClose": { "opportunityid@odata.bind": format!("/opportunities({opp})"), "actualrevenue": 1234 }, "Status": 3 }),
        )
        .expect(204);
        let yesterday = yesterday_noon();
        as_rep(reqwest::Method::POST, "/tasks", json!({ "subject": "Call back", "scheduledend": yesterday }))
            .expect(204);

        let html = srv.page_as(&rep.token, "/").text();
        assert!(html.contains("Sales dashboard"), "{html}");
        // Figures of the rep's own data: three advertisement leads, the won
        // revenue this month, one overdue task.
        let figures = |chart: &str| {
            let at = html.find(&format!("id=\"{chart}-t\"")).unwrap_or_else(|| panic!("no {chart} chart: {html}"));
            let end = html[at..].find("</section>").map(|e| at + e).unwrap_or(html.len());
            html[at..end].to_string()
        };
        assert!(
            figures("dash-leads").contains("<th scope=\"row\">Advertisement</th><td>3</td>"),
            "{}",
            figures("dash-leads")
        );
        assert!(figures("dash-won").contains("$1,234.00"), "{}", figures("dash-won"));
        // Every stage of the process is a bar, empty or not; the board is a click away.
        assert!(figures("dash-pipeline").contains("<th scope=\"row\">Qualify</th>"), "{}", figures("dash-pipeline"));
        assert!(html.contains("data-testid=\"board-link\""), "{html}");
        assert!(figures("dash-due").contains("<th scope=\"row\">Overdue</th><td>1</td>"), "{}", figures("dash-due"));
        assert!(html.contains(">Call back</a>"), "the next activities are listed");

        // Another Salesperson's dashboard does not count the rep's records.
        let other = srv.new_user(&["Salesperson"]);
        let html = srv.page_as(&other.token, "/").text();
        assert!(!html.contains("<th scope=\"row\">Advertisement</th><td>3</td>"), "{html}");
        assert!(!html.contains("$1,234.00"), "{html}");

        // A service representative: no sales charts.
        let csr = srv.new_user(&["Customer Service Representative"]);
        let html = srv.page_as(&csr.token, "/").text();
        assert!(html.contains("Service dashboard"), "{html}");
        assert!(!html.contains("dash-pipeline-t") && !html.contains("dash-leads-t"), "{html}");
        assert!(html.contains("dash-due-t"));
        // In Russian.
        let html = srv.page_as(&rep.token, "/?lang=ru").text();
        assert!(html.contains("Воронка по этапам"), "{html}");
    });
}

/// Yesterday at noon, UTC, as the Web API writes dates.
fn yesterday_noon() -> String {
    (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT12:00:00Z").to_string()
}

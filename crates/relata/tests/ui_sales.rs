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

//! Every page the navigation offers opens in Chromium, as a System
//! Administrator and as a Salesperson (tests/ui/pages.mjs walks the menu,
//! each list, its first record, its edit form and its new forms). The
//! data comes from `relata demo` plus one record of each sales document,
//! so record pages of every main entity are opened.

mod common;

use common::{uid, Srv};
use serde_json::json;

#[test]
fn every_offered_page_opens_in_chromium() {
    common::each_server(run);
}

fn run(srv: &Srv) {
    let out = srv.cli(&["demo", "--seed", "7"]);
    assert!(out.status.success(), "relata demo failed: {}", String::from_utf8_lossy(&out.stderr));
    let tag = uid();
    let rep = srv.new_user(&["Salesperson"]);
    // A document of each kind, with a line, so their pages have a product grid.
    let product = srv.create(
        "products",
        &json!({ "name": format!("Sweep {tag}"), "productnumber": format!("S-{tag}"), "price": 100 }),
    );
    let account = srv.create("accounts", &json!({ "name": format!("Sweep {tag}") }));
    let opp = srv.create(
        "opportunities",
        &json!({ "name": format!("Sweep {tag}"), "customerid_account@odata.bind": format!("/accounts({account})") }),
    );
    srv.post(
        "/opportunityproducts",
        &json!({ "opportunityid@odata.bind": format!("/opportunities({opp})"), "productid@odata.bind": format!("/products({product})"), "quantity": 2 }),
    )
    .expect(204);
    let quote = srv
        .post("/GenerateQuoteFromOpportunity", &json!({ "OpportunityId": opp, "ColumnSet": { "AllColumns": true } }));
    quote.expect(200);
    let quote = quote.json()["quoteid"].as_str().expect("quote id").to_string();
    srv.patch(&format!("/quotes({quote})"), &json!({ "statecode": 1, "statuscode": 3 })).expect(204);
    let order =
        srv.post("/ConvertQuoteToSalesOrder", &json!({ "QuoteId": quote, "ColumnSet": { "AllColumns": true } }));
    order.expect(200);
    let order = order.json()["salesorderid"].as_str().expect("order id").to_string();
    srv.post("/ConvertSalesOrderToInvoice", &json!({ "SalesOrderId": order, "ColumnSet": { "AllColumns": true } }))
        .expect(200);
    srv.create("competitors", &json!({ "name": format!("Rival {tag}") }));
    srv.create("salesliteratures", &json!({ "name": format!("Brochure {tag}") }));
    srv.create("letters", &json!({ "subject": format!("Letter {tag}") }));
    common::run_ui_script(srv, "pages.mjs", &[("RELATA_REP_EMAIL", rep.email.clone())]);
}

//! Selling without setup errors: a new database has a unit ("pcs") and a
//! default price list in the base currency; a product made in a form with
//! a list price gets both, and its price lands in the default price list;
//! an opportunity (made by hand or by qualifying a lead) starts on that
//! price list, so a product line is priced at once; the product grid shows
//! quantity, price, discount and amount, with totals.

mod common;

use common::{d, dec, each_server, enc, uid, Srv};
use reqwest::Method;
use serde_json::json;

/// The organization's default price list.
fn default_price_list(srv: &Srv) -> String {
    let org = srv.get("/organizations?$select=_relata_defaultpricelevelid_value").rows();
    org[0]["_relata_defaultpricelevelid_value"].as_str().expect("a default price list is set").to_string()
}

#[test]
fn a_product_with_a_list_price_sells_without_setup() {
    each_server(|srv| {
        let tag = uid();
        let list = default_price_list(srv);
        let pl = srv.retrieve("pricelevels", list.parse().unwrap(), "$select=name,_transactioncurrencyid_value");
        let base = srv.get("/organizations?$select=_basecurrencyid_value").rows()[0]["_basecurrencyid_value"].clone();
        assert_eq!(pl["_transactioncurrencyid_value"], base, "the default price list is in the base currency");

        // New forms start with the base currency (a new price list needs no hunting for it).
        let form = srv.page_as(&srv.token, "/ui/pricelevels/new").text();
        assert!(form.contains(&format!("value=\"transactioncurrency:{}\"", base.as_str().unwrap())));

        // A product made in its form with a list price; no unit given.
        let csrf = srv.csrf_of(&srv.token);
        let name = format!("Router {tag}");
        let r = srv.form_as(
            &srv.token,
            "/ui/products/new",
            &[
                ("csrf", csrf.clone()),
                ("name", name.clone()),
                ("productnumber", format!("R-{tag}")),
                ("price", "1 250,50".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let product = r.header("location").unwrap().rsplit('/').next().unwrap().to_string();
        let p = srv.retrieve(
            "products",
            product.parse().unwrap(),
            "$select=price,_defaultuomid_value,_defaultuomscheduleid_value,_pricelevelid_value",
        );
        assert!(p["_defaultuomid_value"].is_string(), "the product got the default unit: {p}");
        assert!(p["_defaultuomscheduleid_value"].is_string());
        assert_eq!(p["_pricelevelid_value"], list);
        let unit = srv.retrieve("uoms", p["_defaultuomid_value"].as_str().unwrap().parse().unwrap(), "$select=name");
        assert_eq!(unit["name"], "pcs");
        let items = srv
            .get(&format!(
                "/productpricelevels?$select=amount,_uomid_value&$filter=_productid_value eq {product} and _pricelevelid_value eq {list}"
            ))
            .rows();
        assert_eq!(items.len(), 1, "the list price is an item of the default price list");
        assert_eq!(dec(&items[0]["amount"]), d("1250.5"));
        // Changing the list price changes the item, not adds one.
        srv.patch(&format!("/products({product})"), &json!({ "price": 990 })).expect(204);
        let items =
            srv.get(&format!("/productpricelevels?$select=amount&$filter=_productid_value eq {product}")).rows();
        assert_eq!(items.len(), 1);
        assert_eq!(dec(&items[0]["amount"]), d("990"));

        // An opportunity from a qualified lead starts on the default price
        // list; a line is priced without choosing one.
        let lead = srv.create(
            "leads",
            &json!({ "subject": format!("Deal {tag}"), "lastname": "Petrov", "companyname": format!("Buyer {tag}") }),
        );
        srv.post(
            &format!("/leads({lead})/Microsoft.Dynamics.CRM.QualifyLead"),
            &json!({ "CreateAccount": true, "CreateContact": true, "CreateOpportunity": true, "Status": 3 }),
        )
        .expect(200);
        let opp = srv
            .get(&format!("/opportunities?$select=_pricelevelid_value&$filter=_originatingleadid_value eq {lead}"))
            .rows();
        assert_eq!(opp.len(), 1);
        assert_eq!(opp[0]["_pricelevelid_value"], list);
        let opp = opp[0]["opportunityid"].as_str().unwrap().to_string();
        for qty in [2, 1] {
            srv.post(
                "/opportunityproducts",
                &json!({
                    "opportunityid@odata.bind": format!("/opportunities({opp})"),
                    "productid@odata.bind": format!("/products({product})"),
                    "uomid@odata.bind": format!("/uoms({})", p["_defaultuomid_value"].as_str().unwrap()),
                    "quantity": qty,
                    "manualdiscountamount": 10,
                }),
            )
            .expect(204);
        }
        let o = srv.retrieve("opportunities", opp.parse().unwrap(), "$select=totalamount");
        assert_eq!(dec(&o["totalamount"]), d("2950"), "3 × 990 − 2 × 10");
        // The product grid: quantity, unit price, discount and amount, and the total.
        let page = srv.page_as(&srv.token, &format!("/ui/opportunities/{opp}")).text();
        for label in ["Quantity", "Price Per Unit", "Manual Discount", "Extended Amount"] {
            assert!(page.contains(label), "the product grid shows {label}");
        }
        let totals = page.split("data-testid=\"totals\"").nth(1).expect("a totals row").split("</tr>").next().unwrap();
        assert!(totals.contains("2,950.00"), "{totals}");
        // A new quote made by hand starts on the default price list too.
        let r = srv.send(srv.req(Method::POST, "/quotes").header("Prefer", "return=representation").json(
            &json!({ "name": format!("Quote {tag}"), "customerid_account@odata.bind": format!("/accounts({})", srv.create("accounts", &json!({"name": format!("Q {tag}")}))) }),
        ));
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["_pricelevelid_value"], list);
        // A quick find for the product by name finds it.
        let found = srv.get(&format!("/products?$select=name&$filter=name eq '{}'", enc(&name))).rows();
        assert_eq!(found.len(), 1);
    });
}

#[test]
fn numbers_are_read_as_the_user_writes_them() {
    each_server(|srv| {
        let tag = uid();
        let csrf = srv.csrf_of(&srv.token);
        let post = |name: &str, revenue: &str, lang: &str| {
            srv.send(
                srv.raw(Method::POST, &format!("{}/ui/accounts/new", srv.base_url))
                    .header("Cookie", format!("relata_session={}", srv.token))
                    .header("Accept-Language", lang)
                    .form(&[("csrf", csrf.as_str()), ("name", name), ("revenue", revenue)]),
            )
        };
        let revenue_of = |name: &str| {
            let rows = srv.get(&format!("/accounts?$select=revenue&$filter=name eq '{}'", enc(name))).rows();
            rows.first().map(|r| dec(&r["revenue"]))
        };
        let en = format!("Grouped {tag}");
        assert_eq!(post(&en, "1,250,000", "en-US").status, 303);
        assert_eq!(revenue_of(&en), Some(d("1250000")));
        let ru = format!("Группы {tag}");
        assert_eq!(post(&ru, "1 250 000,50", "ru-RU").status, 303);
        assert_eq!(revenue_of(&ru), Some(d("1250000.50")));
        // What is not a number is refused at its field.
        let bad = format!("Not a number {tag}");
        let r = post(&bad, "12,34,567", "en-US");
        assert_eq!(r.status, 400);
        assert!(r.text().contains("aria-invalid"), "the message is at the field");
        assert_eq!(revenue_of(&bad), None, "nothing is saved");
    });
}

//! Drives the web UI in headless Chromium (tests/ui/run.mjs) against the
//! shared test server of each backend. The records and users the script
//! expects are made here through the Web API and the CLI. Screenshots of
//! every main screen go to target/ui-screenshots/<backend>/.
//!
//! Chromium (/usr/bin/chromium) and node are required: without them the test
//! fails rather than skips, so a machine that cannot run it is noticed.

mod common;

use serde_json::json;

use common::{uid, Srv};

/// One page of the list (50) and then some, so paging has a second page.
const ADMIN_ACCOUNTS: usize = 60;

#[test]
fn web_ui_in_chromium() {
    common::each_server(run);
}

fn run(srv: &Srv) {
    let tag = uid();
    let needle = uid();

    // A lookup and an option set on the record the script opens, to see them
    // shown by name and label.
    let contact = srv.create("contacts", &json!({ "firstname": "Ada", "lastname": format!("Lovelace {tag}") }));
    let contact_name = srv.retrieve("contacts", contact, "$select=fullname")["fullname"]
        .as_str()
        .expect("contact fullname")
        .to_string();

    let mut names = Vec::new();
    for i in 1..ADMIN_ACCOUNTS {
        let name = format!("UI {tag} {i:03}");
        srv.create("accounts", &json!({ "name": name }));
        names.push(name);
    }
    let needle_name = format!("UI {tag} needle {needle}");
    let needle_id = srv.create(
        "accounts",
        &json!({
            "name": needle_name,
            "industrycode": 7,
            "primarycontactid@odata.bind": format!("/contacts({contact})"),
        }),
    );
    names.push(needle_name.clone());

    // A Salesperson (User depth) with one account of their own: their list
    // must show it and none of the admin's.
    let user = srv.new_user(&["Salesperson"]);
    let own = format!("UI {tag} own");
    srv.send(srv.req_as(&user.token, reqwest::Method::POST, "/accounts").json(&json!({ "name": own }))).expect(204);
    names.push(own.clone());

    // A user whose only role reads accounts: the nav must show no Settings
    // area and no Roles link, which no standard role gives (all read roles).
    let role = format!("UI reader {tag}");
    srv.cli(&["role", "create", "--name", &role]);
    srv.cli(&["role", "grant", "--role", &role, "--entity", "account", "--rights", "read", "--depth", "basic"]);
    let reader = srv.new_user(&[&role]);

    common::run_ui_script(
        srv,
        "run.mjs",
        &[
            ("RELATA_USER_EMAIL", user.email.clone()),
            ("RELATA_USER_TOKEN", user.token.clone()),
            ("RELATA_READER_EMAIL", reader.email.clone()),
            ("RELATA_READER_TOKEN", reader.token.clone()),
            ("RELATA_ACCOUNT_NAMES", serde_json::to_string(&names).expect("names as JSON")),
            ("RELATA_NEEDLE", needle.clone()),
            ("RELATA_NEEDLE_NAME", needle_name.clone()),
            ("RELATA_NEEDLE_ID", needle_id.to_string()),
            ("RELATA_CONTACT_NAME", contact_name.clone()),
            ("RELATA_USER_ACCOUNT", own.clone()),
        ],
    );
}

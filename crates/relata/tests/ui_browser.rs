//! Drives the web UI in headless Chromium (tests/ui/run.mjs) against the
//! shared test server of each backend. The records and users the script
//! expects are made here through the Web API and the CLI. Screenshots of
//! every main screen go to target/ui-screenshots/<backend>/.
//!
//! Chromium (/usr/bin/chromium) and node are required: without them the test
//! fails rather than skips, so a machine that cannot run it is noticed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use common::{uid, Srv, ADMIN_EMAIL, ADMIN_PASSWORD};

const CHROMIUM: &str = "/usr/bin/chromium";
/// The full name `common` gives the admin.
const ADMIN_NAME: &str = "Test Admin";
/// The password `Srv::new_user` gives every user.
const USER_PASSWORD: &str = "User-Passw0rd!";
/// One page of the list (50) and then some, so paging has a second page.
const ADMIN_ACCOUNTS: usize = 60;

fn ui_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui").canonicalize().expect("tests/ui exists")
}

fn screenshots_dir(backend: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots").join(backend)
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn web_ui_in_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the web UI test needs Debian's Chromium (apt-get install -y chromium)"
    );
    assert!(have("node") && have("npm"), "node and npm are required for the web UI test");
    let dir = ui_dir();
    if !dir.join("node_modules").join("playwright-core").is_dir() {
        let out =
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).output().expect("run npm ci");
        assert!(
            out.status.success(),
            "npm ci in tests/ui failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    common::each_server(|srv| run(srv, &dir));
}

fn run(srv: &Srv, dir: &Path) {
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

    let shots = screenshots_dir(srv.backend);
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("create the screenshots directory");

    let out = Command::new("node")
        .arg("run.mjs")
        .current_dir(dir)
        .env("RELATA_URL", &srv.base_url)
        .env("RELATA_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("RELATA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RELATA_ADMIN_NAME", ADMIN_NAME)
        .env("RELATA_USER_EMAIL", &user.email)
        .env("RELATA_USER_PASSWORD", USER_PASSWORD)
        .env("RELATA_USER_TOKEN", &user.token)
        .env("RELATA_READER_EMAIL", &reader.email)
        .env("RELATA_READER_TOKEN", &reader.token)
        .env("RELATA_ACCOUNT_NAMES", serde_json::to_string(&names).expect("names as JSON"))
        .env("RELATA_NEEDLE", &needle)
        .env("RELATA_NEEDLE_NAME", &needle_name)
        .env("RELATA_NEEDLE_ID", needle_id.to_string())
        .env("RELATA_CONTACT_NAME", &contact_name)
        .env("RELATA_USER_ACCOUNT", &own)
        .env("RELATA_SCREENSHOTS", &shots)
        .env("RELATA_CHROMIUM", CHROMIUM)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Shown with --nocapture: the page weight figures and what was checked.
    println!("[{}] web UI run:\n{stdout}", srv.backend);
    assert!(
        out.status.success(),
        "[{}] web UI run failed ({}); screenshots in {}:\n{stdout}\n{}",
        srv.backend,
        out.status,
        shots.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

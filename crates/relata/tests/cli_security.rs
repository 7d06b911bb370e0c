//! The security administration commands: users (business unit, license,
//! disable, move, password), roles, teams, business units, the audit log
//! and the license report, checked end to end through the Web API.

mod common;

use std::process::{Command, Stdio};

use common::{each_server, enc, relata_bin, servers, uid, Srv};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const PASSWORD: &str = "User-Passw0rd!";

/// Runs the CLI against the server's store; returns stdout (asserts success).
#[track_caller]
fn ok(srv: &Srv, args: &[&str]) -> String {
    String::from_utf8_lossy(&srv.cli(args).stdout).into_owned()
}

/// Runs the CLI expecting failure; asserts exactly one error line on stderr
/// that mentions every string in `mentions`, and returns it.
#[track_caller]
fn fails(srv: &Srv, args: &[&str], mentions: &[&str]) -> String {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(srv.store_args());
    let out = Command::new(relata_bin())
        .args(&all)
        .env("RELATA_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .expect("run relata");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "[{}] relata {} should fail; stderr: {stderr}", srv.backend, args.join(" "));
    // The line naming the database in use is not an error line.
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("database: ")).collect();
    assert_eq!(lines.len(), 1, "[{}] one error line from relata {}, got:\n{stderr}", srv.backend, args.join(" "));
    let line = lines[0];
    assert!(line.starts_with("error: ") && !line.contains("panicked"), "{line}");
    for m in mentions {
        assert!(line.contains(m), "[{}] relata {}: the error mentions {m:?}: {line}", srv.backend, args.join(" "));
    }
    line.to_string()
}

/// The first GUID printed on stdout (create commands print the new id).
#[track_caller]
fn id_in(out: &str) -> Uuid {
    out.lines().find_map(|l| Uuid::parse_str(l.trim()).ok()).unwrap_or_else(|| panic!("no id printed: {out}"))
}

/// A business unit made through the CLI: (name, id).
#[track_caller]
fn new_bu(srv: &Srv, label: &str, parent: Option<&str>) -> (String, Uuid) {
    let name = format!("{label} {}", uid());
    let mut args = vec!["bu", "create", "--name", &name];
    if let Some(p) = parent {
        args.extend(["--parent", p]);
    }
    let id = id_in(&ok(srv, &args));
    (name, id)
}

fn email() -> String {
    format!("sec-{}@relata.test", uid())
}

/// Creates a user through the CLI with extra arguments; returns its id.
#[track_caller]
fn create_user(srv: &Srv, email: &str, extra: &[&str]) -> Uuid {
    let mut args = vec!["user", "create", "--email", email, "--password", PASSWORD, "--name", "Sec User"];
    args.extend(extra);
    id_in(&ok(srv, &args))
}

#[track_caller]
fn token_for(srv: &Srv, email: &str) -> String {
    common::last_line(&srv.cli(&["token", "create", "--email", email]).stdout)
}

fn get_as(srv: &Srv, token: &str, path: &str) -> common::Resp {
    srv.send(srv.req_as(token, Method::GET, path))
}

/// The stdout line that mentions `needle`.
#[track_caller]
fn line_with<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
}

/// Users with this email, through the Web API.
fn users_named(srv: &Srv, email: &str) -> Vec<Value> {
    srv.get(&format!("/systemusers?$select=fullname&$filter={}", enc(&format!("internalemailaddress eq '{email}'"))))
        .rows()
}

#[test]
fn user_create_places_the_user_with_license_and_the_closest_role() {
    each_server(|srv| {
        let (parent, _) = new_bu(srv, "Region", None);
        let (child, _) = new_bu(srv, "Office", Some(&parent));
        let (grandchild, grandchild_id) = new_bu(srv, "Desk", Some(&child));
        // The same role name at the root and in the child: the grandchild's user gets the closer one.
        let role = format!("Rep {}", uid());
        ok(srv, &["role", "create", "--name", &role, "--copy-from", "Salesperson"]);
        ok(srv, &["role", "create", "--name", &role, "--business-unit", &child, "--copy-from", "Salesperson"]);

        let e = email();
        let id = create_user(srv, &e, &["--business-unit", &grandchild, "--license", "basic", "--role", &role]);
        let u = srv.retrieve("systemusers", id, "$select=caltype,accessmode,_businessunitid_value,isdisabled");
        assert_eq!(u["caltype"], 2, "{u}");
        assert_eq!(u["accessmode"], 0, "{u}");
        assert_eq!(u["_businessunitid_value"], grandchild_id.to_string());
        let shown = ok(srv, &["role", "show", &role, "--business-unit", &child]);
        assert!(line_with(&shown, "users:").contains(&e), "the child unit's role was given: {shown}");
        let shown = ok(srv, &["role", "show", &role, "--business-unit", "Relata"]);
        assert!(!shown.contains(&e), "not the root's: {shown}");
        let token = token_for(srv, &e);
        let who = srv.whoami_as(&token);
        assert_eq!(who["BusinessUnitId"], grandchild_id.to_string());

        let list = ok(srv, &["user", "list"]);
        let row = line_with(&list, &e);
        for part in [grandchild.as_str(), "basic", "active", role.as_str()] {
            assert!(row.contains(part), "user list row shows {part:?}: {row}");
        }
        let header = list.lines().next().unwrap_or_default();
        for col in ["EMAIL", "BUSINESS UNIT", "LICENSE", "STATUS", "ROLES"] {
            assert!(header.contains(col), "{header}");
        }

        // Every license name is accepted and stored as Dataverse stores it.
        for (license, caltype, accessmode) in [
            ("professional", 0, 0),
            ("essential", 5, 0),
            ("team-member", 100, 0),
            ("read-only", 0, 2),
            ("administrative", 1, 1),
        ] {
            let e = email();
            let id = create_user(srv, &e, &["--license", license]);
            let u = srv.retrieve("systemusers", id, "$select=caltype,accessmode");
            assert_eq!(
                (u["caltype"].as_i64(), u["accessmode"].as_i64()),
                (Some(caltype), Some(accessmode)),
                "{license}"
            );
        }
    });
}

#[test]
fn user_create_fails_cleanly_and_leaves_no_user_behind() {
    each_server(|srv| {
        let (a, _) = new_bu(srv, "Branch A", None);
        let (b, _) = new_bu(srv, "Branch B", None);
        let role = format!("A only {}", uid());
        ok(srv, &["role", "create", "--name", &role, "--business-unit", &a]);

        let e = email();
        let base = ["user", "create", "--email", e.as_str(), "--password", PASSWORD];
        let with = |extra: &[&'static str]| -> Vec<String> {
            base.iter().map(|s| s.to_string()).chain(extra.iter().map(|s| s.to_string())).collect()
        };
        let run = |args: Vec<String>, mentions: &[&str]| {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            fails(srv, &refs, mentions);
        };
        run(with(&["--business-unit", "No Such Unit"]), &["No Such Unit"]);
        run(with(&["--license", "gold"]), &["gold", "professional"]);
        run(with(&["--role", "No Such Role"]), &["No Such Role"]);
        // A role of another branch: the user and their roles are not written.
        let mut args = with(&["--role", "Salesperson", "--role"]);
        args.push(role.clone());
        args.extend(["--business-unit".to_string(), b.clone()]);
        run(args, &[&role, "another branch"]);
        fails(srv, &["user", "create", "--email", &e, "--password", "short"], &["8 characters"]);
        assert!(users_named(srv, &e).is_empty(), "nothing was left behind");

        // An ambiguous business unit name (two units made through the Web API).
        let twin = format!("Twin {}", uid());
        srv.create("businessunits", &json!({ "name": twin }));
        srv.create("businessunits", &json!({ "name": twin }));
        let mut args = with(&["--business-unit"]);
        args.push(twin.clone());
        run(args, &["2 business units", &twin]);
        assert!(users_named(srv, &e).is_empty());

        // The same email twice.
        create_user(srv, &e, &[]);
        fails(srv, &["user", "create", "--email", &e, "--password", PASSWORD], &[&e]);
        assert_eq!(users_named(srv, &e).len(), 1);
    });
}

#[test]
fn disabled_users_are_refused_until_enabled() {
    each_server(|srv| {
        let u = srv.new_user(&["Salesperson"]);
        get_as(srv, &u.token, "/WhoAmI()").expect(200);
        ok(srv, &["user", "disable", "--email", &u.email]);
        let r = get_as(srv, &u.token, "/WhoAmI()");
        assert_eq!(r.status, 401, "a disabled user's token is refused: {}", r.text());
        let list = ok(srv, &["user", "list"]);
        assert!(line_with(&list, &u.email).contains("disabled"), "{list}");
        let report: Value = serde_json::from_str(&ok(srv, &["license", "report", "--json"])).expect("JSON");
        let me = report["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["users"].as_array().unwrap().clone())
            .find(|x| x["email"] == u.email.as_str())
            .expect("the user is in the report");
        assert_eq!(me["disabled"], true);

        ok(srv, &["user", "enable", "--email", &u.email]);
        get_as(srv, &u.token, "/WhoAmI()").expect(200);
        fails(srv, &["user", "disable", "--email", "nobody-here@relata.test"], &["nobody-here@relata.test"]);
    });
}

#[test]
fn licenses_cap_what_roles_grant() {
    each_server(|srv| {
        let u = srv.new_user(&["Salesperson"]);
        get_as(srv, &u.token, "/opportunities?$select=name").expect(200);
        ok(srv, &["user", "license", "--email", &u.email, "--license", "basic"]);
        let r = get_as(srv, &u.token, "/opportunities?$select=name");
        assert_eq!(r.status, 403, "Basic has no sales pipeline: {}", r.text());
        get_as(srv, &u.token, "/accounts?$select=name").expect(200);
        let r = srv
            .send(srv.req_as(&u.token, Method::POST, "/accounts").json(&json!({ "name": format!("Basic {}", uid()) })));
        r.expect(204);

        ok(srv, &["user", "license", "--email", &u.email, "--license", "read-only"]);
        get_as(srv, &u.token, "/accounts?$select=name").expect(200);
        let r = srv.send(srv.req_as(&u.token, Method::POST, "/accounts").json(&json!({ "name": "no" })));
        assert_eq!(r.status, 403, "read-only writes nothing: {}", r.text());

        ok(srv, &["user", "license", "--email", &u.email, "--license", "professional"]);
        get_as(srv, &u.token, "/opportunities?$select=name").expect(200);
        fails(srv, &["user", "license", "--email", &u.email, "--license", "platinum"], &["platinum", "team-member"]);
        fails(srv, &["user", "license", "--email", "nobody-here@relata.test", "--license", "basic"], &["nobody-here"]);
    });
}

#[test]
fn moving_a_user_moves_their_records_and_drops_roles_the_unit_cannot_hold() {
    each_server(|srv| {
        let (p, p_id) = new_bu(srv, "Move P", None);
        let (q, q_id) = new_bu(srv, "Move Q", None);
        let role = format!("P role {}", uid());
        ok(srv, &["role", "create", "--name", &role, "--business-unit", &p, "--copy-from", "Read Only"]);

        let u = srv.new_user(&["Salesperson"]);
        let root = srv.whoami_as(&u.token)["BusinessUnitId"].as_str().unwrap().to_string();
        let r = srv.send(
            srv.req_as(&u.token, Method::POST, "/accounts").json(&json!({ "name": format!("Moving {}", uid()) })),
        );
        let account = r.expect(204).entity_id();
        let owning = |srv: &Srv| {
            srv.retrieve("accounts", account, "$select=name,_owningbusinessunit_value")["_owningbusinessunit_value"]
                .clone()
        };
        assert_eq!(owning(srv), root.as_str());

        ok(srv, &["user", "move", "--email", &u.email, "--business-unit", &p]);
        assert_eq!(owning(srv), p_id.to_string().as_str(), "the account follows its owner");
        assert_eq!(srv.whoami_as(&u.token)["BusinessUnitId"], p_id.to_string());
        ok(srv, &["role", "assign", "--role", &role, "--user", &u.email]);
        assert!(line_with(&ok(srv, &["role", "show", &role]), "users:").contains(&u.email));

        // To a sibling: P's role cannot be held there and goes; Salesperson (root) stays.
        let out = srv.cli(&["user", "move", "--email", &u.email, "--business-unit", &q]);
        assert!(String::from_utf8_lossy(&out.stderr).contains(&role), "the dropped role is named");
        assert_eq!(owning(srv), q_id.to_string().as_str());
        assert!(!ok(srv, &["role", "show", &role]).contains(&u.email));
        assert!(line_with(&ok(srv, &["user", "list"]), &u.email).contains("Salesperson"));
        get_as(srv, &u.token, &format!("/accounts({account})?$select=name")).expect(200);

        fails(srv, &["user", "move", "--email", &u.email, "--business-unit", "Nowhere Unit"], &["Nowhere Unit"]);
    });
}

/// Signs in with a password at the token endpoint; returns the status.
fn sign_in(srv: &Srv, email: &str, password: &str) -> u16 {
    let body = format!("grant_type=password&username={}&password={}", enc(email), enc(password));
    let r = srv.send(
        srv.client
            .request(Method::POST, format!("{}/oauth2/token", srv.base_url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body),
    );
    r.status
}

#[test]
fn user_password_changes_the_sign_in_password() {
    each_server(|srv| {
        let e = email();
        create_user(srv, &e, &["--role", "Salesperson"]);
        assert_eq!(sign_in(srv, &e, PASSWORD), 200);
        ok(srv, &["user", "password", "--email", &e, "--password", "Another-Passw0rd!"]);
        assert_eq!(sign_in(srv, &e, "Another-Passw0rd!"), 200);
        assert_ne!(sign_in(srv, &e, PASSWORD), 200, "the old password no longer works");
        fails(srv, &["user", "password", "--email", &e, "--password", "short"], &["8 characters"]);
        fails(
            srv,
            &["user", "password", "--email", "nobody-here@relata.test", "--password", "Long-Enough-1"],
            &["nobody-here"],
        );
        assert_eq!(sign_in(srv, &e, "Another-Passw0rd!"), 200);
    });
}

#[test]
fn roles_are_created_granted_assigned_revoked_and_deleted() {
    each_server(|srv| {
        let role = format!("Readers {}", uid());
        let id = id_in(&ok(srv, &["role", "create", "--name", &role]));
        let u = srv.new_user(&[]);
        let r = get_as(srv, &u.token, "/accounts?$select=name");
        assert_eq!(r.status, 403, "no role, no accounts: {}", r.text());

        ok(
            srv,
            &[
                "role",
                "grant",
                "--role",
                &role,
                "--privilege",
                "prvReadAccount",
                "--depth",
                "global",
                "--privilege",
                "prvWriteAccount",
                "--depth",
                "basic",
            ],
        );
        ok(
            srv,
            &["role", "grant", "--role", &role, "--entity", "contact", "--rights", "read,write", "--depth", "deep"],
        );
        let shown = ok(srv, &["role", "show", &role]);
        assert!(shown.contains(&id.to_string()), "{shown}");
        assert!(line_with(&shown, "prvReadAccount ").contains("Global"), "{shown}");
        assert!(line_with(&shown, "prvWriteAccount ").contains("Basic"), "{shown}");
        assert!(line_with(&shown, "prvReadContact ").contains("Deep"), "{shown}");
        assert!(line_with(&shown, "prvWriteContact ").contains("Deep"), "{shown}");
        let listed = ok(srv, &["role", "list"]);
        assert!(line_with(&listed, &role).contains(" 4 "), "four privileges: {listed}");

        ok(srv, &["role", "assign", "--role", &role, "--user", &u.email]);
        get_as(srv, &u.token, "/accounts?$select=name").expect(200);
        assert!(line_with(&ok(srv, &["user", "list"]), &u.email).contains(&role));
        fails(srv, &["role", "assign", "--role", &role, "--user", "nobody-here@relata.test"], &["nobody-here"]);

        ok(srv, &["role", "revoke", "--role", &role, "--privilege", "prvReadAccount"]);
        let r = get_as(srv, &u.token, "/accounts?$select=name");
        assert_eq!(r.status, 403, "the revoked privilege is gone at once: {}", r.text());
        let shown = ok(srv, &["role", "show", &role]);
        assert!(!shown.contains("prvReadAccount "), "{shown}");
        fails(srv, &["role", "revoke", "--role", &role, "--privilege", "prvReadAccount"], &["prvReadAccount"]);
        ok(srv, &["role", "grant", "--role", &role, "--privilege", "prvReadAccount", "--depth", "local"]);
        get_as(srv, &u.token, "/accounts?$select=name").expect(200);

        ok(srv, &["role", "unassign", "--role", &role, "--user", &u.email]);
        assert_eq!(get_as(srv, &u.token, "/accounts?$select=name").status, 403);
        fails(srv, &["role", "unassign", "--role", &role, "--user", &u.email], &[&role, &u.email]);

        // Bad input.
        let grant = |privilege: &str, depth: &str, mentions: &[&str]| {
            fails(srv, &["role", "grant", "--role", &role, "--privilege", privilege, "--depth", depth], mentions);
        };
        grant("prvReadAccount", "sideways", &["sideways", "basic, local, deep or global"]);
        grant("prvCreateEntity", "local", &["prvCreateEntity", "Global"]);
        grant("prvNoSuchThing", "global", &["prvNoSuchThing"]);
        fails(
            srv,
            &["role", "grant", "--role", &role, "--entity", "nosuchentity", "--rights", "read", "--depth", "basic"],
            &["nosuchentity"],
        );
        fails(
            srv,
            &["role", "grant", "--role", &role, "--entity", "account", "--rights", "fly", "--depth", "basic"],
            &["fly"],
        );
        fails(
            srv,
            &["role", "grant", "--role", "No Such Role", "--privilege", "prvReadAccount", "--depth", "basic"],
            &["No Such Role"],
        );
        fails(
            srv,
            &["role", "grant", "--role", "System Administrator", "--privilege", "prvReadAccount", "--depth", "basic"],
            &["System Administrator"],
        );
        fails(srv, &["role", "create", "--name", &role], &["already has a role", &role]);
        fails(srv, &["role", "create", "--name", "Orphan", "--business-unit", "No Such Unit"], &["No Such Unit"]);

        ok(srv, &["role", "delete", &role]);
        fails(srv, &["role", "show", &role], &[&role]);
        assert_eq!(get_as(srv, &u.token, "/accounts?$select=name").status, 403);
        fails(srv, &["role", "delete", "System Administrator"], &["System Administrator"]);
    });
}

/// The PRIVILEGE and DEPTH columns of `role show`.
fn privilege_rows(shown: &str) -> Vec<String> {
    shown
        .lines()
        .skip_while(|l| !l.starts_with("PRIVILEGE"))
        .skip(1)
        .map(|l| l.split("  ").filter(|c| !c.is_empty()).take(2).collect::<Vec<_>>().join(" | "))
        .collect()
}

#[test]
fn a_copied_role_grants_what_its_source_grants() {
    each_server(|srv| {
        let (unit, _) = new_bu(srv, "Copy Unit", None);
        let role = format!("Sales copy {}", uid());
        ok(srv, &["role", "create", "--name", &role, "--business-unit", &unit, "--copy-from", "Salesperson"]);
        let source = privilege_rows(&ok(srv, &["role", "show", "Salesperson", "--business-unit", "Relata"]));
        let copy = privilege_rows(&ok(srv, &["role", "show", &role]));
        assert!(source.len() > 10, "{source:?}");
        assert_eq!(copy, source);
        let listed = ok(srv, &["role", "list", "--business-unit", &unit]);
        assert!(listed.contains(&role) && !listed.contains("System Administrator"), "{listed}");
        fails(srv, &["role", "create", "--name", "Copy of nothing", "--copy-from", "No Such Role"], &["No Such Role"]);
    });
}

#[test]
fn roles_follow_the_business_unit_tree() {
    each_server(|srv| {
        let (a, _) = new_bu(srv, "Tree A", None);
        let (a_child, _) = new_bu(srv, "Tree A child", Some(&a));
        let (b, _) = new_bu(srv, "Tree B", None);
        let role = format!("A readers {}", uid());
        ok(srv, &["role", "create", "--name", &role, "--business-unit", &a]);
        ok(srv, &["role", "grant", "--role", &role, "--privilege", "prvReadAccount", "--depth", "global"]);

        let in_b = email();
        create_user(srv, &in_b, &["--business-unit", &b]);
        fails(srv, &["role", "assign", "--role", &role, "--user", &in_b], &[&role, "another branch"]);
        // Named with its unit, the engine makes the same decision.
        fails(srv, &["role", "assign", "--role", &role, "--business-unit", &a, "--user", &in_b], &["another branch"]);
        let team = format!("Team B {}", uid());
        ok(srv, &["team", "create", "--name", &team, "--business-unit", &b]);
        fails(srv, &["role", "assign", "--role", &role, "--team", &team], &[&role, "another branch"]);

        // Below the role's unit it can be given.
        let below = email();
        create_user(srv, &below, &["--business-unit", &a_child]);
        ok(srv, &["role", "assign", "--role", &role, "--user", &below]);
        let token = token_for(srv, &below);
        get_as(srv, &token, "/accounts?$select=name").expect(200);
        fails(srv, &["role", "show", &role, "--business-unit", &b], &[&role]);
    });
}

#[test]
fn teams_carry_roles_to_their_members() {
    each_server(|srv| {
        let (unit, unit_id) = new_bu(srv, "Team Unit", None);
        let team = format!("Key Accounts {}", uid());
        let team_id = id_in(&ok(
            srv,
            &["team", "create", "--name", &team, "--business-unit", &unit, "--admin", common::ADMIN_EMAIL],
        ));
        let t = srv.retrieve("teams", team_id, "$select=name,teamtype,_businessunitid_value,_administratorid_value");
        assert_eq!(t["_businessunitid_value"], unit_id.to_string());
        assert_eq!(t["teamtype"], 0);
        assert_eq!(t["_administratorid_value"], srv.admin_id().to_string());

        let u = srv.new_user(&[]);
        assert_eq!(get_as(srv, &u.token, "/accounts?$select=name").status, 403);
        ok(srv, &["team", "add-member", "--team", &team, "--user", &u.email]);
        ok(srv, &["role", "assign", "--role", "Salesperson", "--team", &team]);
        get_as(srv, &u.token, "/accounts?$select=name").expect(200);
        let row = line_with(&ok(srv, &["team", "list"]), &team).to_string();
        for part in [unit.as_str(), common::ADMIN_EMAIL, "Salesperson", " 1 "] {
            assert!(row.contains(part), "team list shows {part:?}: {row}");
        }
        let in_unit = ok(srv, &["team", "list", "--business-unit", &unit]);
        let default_row = in_unit.lines().find(|l| l.starts_with(&unit)).unwrap_or_else(|| panic!("{in_unit}"));
        assert!(default_row.contains("default"), "{in_unit}");
        assert!(!in_unit.contains("Relata"), "only the unit's teams: {in_unit}");

        ok(srv, &["team", "remove-member", "--team", &team, "--user", &u.email]);
        assert_eq!(get_as(srv, &u.token, "/accounts?$select=name").status, 403);
        fails(srv, &["team", "remove-member", "--team", &team, "--user", &u.email], &[&u.email]);
        fails(srv, &["team", "add-member", "--team", "No Such Team", "--user", &u.email], &["No Such Team"]);
        fails(srv, &["team", "add-member", "--team", &team, "--user", "nobody-here@relata.test"], &["nobody-here"]);
        // A business unit's default team follows the unit's users.
        fails(srv, &["team", "add-member", "--team", &unit, "--user", &u.email], &["default team"]);
        fails(srv, &["team", "delete", &unit], &["default team"]);
        fails(srv, &["team", "create", "--name", &team], &["already exists"]);
        fails(srv, &["team", "create", "--name", "Nowhere team", "--business-unit", "No Such Unit"], &["No Such Unit"]);
        fails(srv, &["team", "create", "--name", "Typed team", "--type", "party"], &["party"]);

        let access = format!("Access {}", uid());
        let access_id = id_in(&ok(srv, &["team", "create", "--name", &access, "--type", "access"]));
        assert_eq!(srv.retrieve("teams", access_id, "$select=teamtype")["teamtype"], 1);

        ok(srv, &["team", "delete", &team]);
        assert!(!ok(srv, &["team", "list"]).contains(&team));
        srv.get(&format!("/teams({team_id})")).expect_error(404);
        fails(srv, &["team", "delete", &team], &[&team]);
    });
}

/// Leading spaces of the line naming `name` in `bu list`.
#[track_caller]
fn indent(list: &str, name: &str) -> usize {
    let l = line_with(list, name);
    l.len() - l.trim_start().len()
}

#[test]
fn business_units_form_a_tree() {
    each_server(|srv| {
        let (top, top_id) = new_bu(srv, "Top", None);
        let (mid, mid_id) = new_bu(srv, "Mid", Some(&top));
        let (other, other_id) = new_bu(srv, "Other", None);
        let b = srv.retrieve("businessunits", mid_id, "$select=name,_parentbusinessunitid_value");
        assert_eq!(b["_parentbusinessunitid_value"], top_id.to_string());
        let e = email();
        create_user(srv, &e, &["--business-unit", &mid, "--role", "Salesperson"]);

        let list = ok(srv, &["bu", "list"]);
        assert_eq!(indent(&list, "Relata"), 0, "{list}");
        assert_eq!(indent(&list, &top), 2, "{list}");
        assert_eq!(indent(&list, &mid), 4, "{list}");
        let row = line_with(&list, &mid);
        assert!(row.contains(&mid_id.to_string()), "{row}");
        assert_eq!(row.split_whitespace().nth(2), Some("1"), "one user in {mid}: {row}");

        ok(srv, &["bu", "move", "--name", &mid, "--parent", &other]);
        let b = srv.retrieve("businessunits", mid_id, "$select=_parentbusinessunitid_value");
        assert_eq!(b["_parentbusinessunitid_value"], other_id.to_string());
        fails(srv, &["bu", "move", "--name", &other, "--parent", &mid], &["its own children"]);
        fails(srv, &["bu", "move", "--name", "Relata", "--parent", &top], &["root"]);
        fails(srv, &["bu", "move", "--name", &mid, "--parent", "No Such Unit"], &["No Such Unit"]);
        fails(srv, &["bu", "create", "--name", &top.to_uppercase()], &["already exists"]);
        fails(srv, &["bu", "create", "--name", "Lost", "--parent", "No Such Unit"], &["No Such Unit"]);

        // A disabled unit's users cannot sign in.
        let token = token_for(srv, &e);
        get_as(srv, &token, "/WhoAmI()").expect(200);
        ok(srv, &["bu", "disable", "--name", &mid]);
        assert_eq!(get_as(srv, &token, "/WhoAmI()").status, 401);
        assert!(line_with(&ok(srv, &["bu", "list"]), &mid).contains("disabled"));
        assert_eq!(srv.retrieve("businessunits", mid_id, "$select=isdisabled")["isdisabled"], true);
        ok(srv, &["bu", "enable", "--name", &mid]);
        get_as(srv, &token, "/WhoAmI()").expect(200);

        // Only empty units can be deleted, never the root.
        fails(srv, &["bu", "delete", "--name", &mid], &["cannot be deleted"]);
        fails(srv, &["bu", "delete", "--name", "Relata"], &["root"]);
        ok(srv, &["bu", "delete", "--name", &top]);
        assert!(!ok(srv, &["bu", "list"]).contains(&top));
        srv.get(&format!("/businessunits({top_id})")).expect_error(404);
        fails(srv, &["bu", "delete", "--name", &top], &[&top]);
    });
}

#[test]
fn the_audit_log_shows_web_api_changes() {
    each_server(|srv| {
        let name = format!("Audited {}", uid());
        let account = srv.create("accounts", &json!({ "name": name, "revenue": 100 }));
        srv.patch(&format!("/accounts({account})"), &json!({ "name": format!("{name} renamed") })).expect(204);
        let rec = account.to_string();

        let out = ok(srv, &["audit", "list", "--record", &rec]);
        let lines: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(lines.len(), 2, "create and update: {out}");
        assert!(lines[0].contains("update") && lines[0].contains("renamed"), "newest first: {out}");
        assert!(lines[1].contains("create") && lines[1].contains(&name), "{out}");
        for l in &lines {
            assert!(l.contains(common::ADMIN_EMAIL) && l.contains("account") && l.contains(&rec), "{l}");
        }

        let v: Value = serde_json::from_str(&ok(srv, &["audit", "list", "--record", &rec, "--json"])).expect("JSON");
        let rows = v.as_array().expect("an array");
        let actions: Vec<i64> = rows.iter().map(|r| r["action"].as_i64().unwrap()).collect();
        assert_eq!(actions, [2, 1]);
        assert_eq!(rows[0]["actionname"], "update");
        assert_eq!(rows[0]["entity"], "account");
        assert_eq!(rows[0]["user"], common::ADMIN_EMAIL);
        let change =
            rows[0]["changes"].as_array().expect("changes").iter().find(|c| c["logicalName"] == "name").cloned();
        assert_eq!(change.expect("name changed")["oldValue"], name.as_str());

        // Filters combine.
        let only = |args: &[&str]| -> usize {
            let mut all = vec!["audit", "list", "--record", rec.as_str(), "--json"];
            all.extend(args);
            serde_json::from_str::<Value>(&ok(srv, &all)).unwrap().as_array().unwrap().len()
        };
        assert_eq!(only(&["--action", "update"]), 1);
        assert_eq!(only(&["--action", "create,update"]), 2);
        assert_eq!(only(&["--action", "1"]), 1);
        assert_eq!(only(&["--entity", "accounts"]), 2);
        assert_eq!(only(&["--entity", "contact"]), 0);
        assert_eq!(only(&["--limit", "1"]), 1);
        assert_eq!(only(&["--user", common::ADMIN_EMAIL]), 2);
        assert_eq!(only(&["--since", "2000-01-01", "--until", "2999-12-31"]), 2);
        assert_eq!(only(&["--until", "2000-01-01"]), 0);
        assert_eq!(only(&["--since", "2999-01-01T00:00:00+02:00"]), 0);
        let day = rows[1]["createdon"].as_str().expect("createdon")[..10].to_string();
        assert_eq!(only(&["--since", &day, "--until", &day]), 2, "--until a date takes in that whole day");

        // Another user's change shows under that user.
        let u = srv.new_user(&["Salesperson"]);
        let mine = srv.send(
            srv.req_as(&u.token, Method::POST, "/accounts").json(&json!({ "name": format!("Theirs {}", uid()) })),
        );
        let mine = mine.expect(204).entity_id().to_string();
        let out = ok(srv, &["audit", "list", "--user", &u.email, "--entity", "account"]);
        assert!(line_with(&out, &mine).contains(&u.email), "{out}");
        assert!(!out.contains(&rec), "{out}");

        // Role changes are audited too.
        let role = format!("Audited role {}", uid());
        let role_id = id_in(&ok(srv, &["role", "create", "--name", &role])).to_string();
        ok(srv, &["role", "grant", "--role", &role, "--privilege", "prvReadLead", "--depth", "local"]);
        let out =
            ok(srv, &["audit", "list", "--entity", "role", "--record", &role_id, "--action", "add-privileges-to-role"]);
        assert!(line_with(&out, "add-privileges-to-role").contains("prvReadLead=Local"), "{out}");

        fails(srv, &["audit", "list", "--since", "2024-13-45"], &["--since", "2024-13-45"]);
        fails(srv, &["audit", "list", "--until", "yesterday"], &["--until", "yesterday"]);
        fails(srv, &["audit", "list", "--since", "2024-02-01", "--until", "2024-01-01"], &["--since"]);
        fails(srv, &["audit", "list", "--action", "explode"], &["explode", "create"]);
        fails(srv, &["audit", "list", "--action", "9999"], &["9999"]);
        fails(srv, &["audit", "list", "--record", "not-a-guid"], &["not-a-guid"]);
        fails(srv, &["audit", "list", "--user", "nobody-here@relata.test"], &["nobody-here"]);
        fails(srv, &["audit", "list", "--entity", "nosuchentity"], &["nosuchentity"]);
        fails(srv, &["audit", "list", "--limit", "0"], &["--limit"]);
    });
}

#[test]
fn the_license_report_counts_users_per_type() {
    each_server(|srv| {
        let basic = email();
        let reader = email();
        create_user(srv, &basic, &["--license", "basic"]);
        create_user(srv, &reader, &["--license", "read-only"]);

        let v: Value = serde_json::from_str(&ok(srv, &["license", "report", "--json"])).expect("JSON");
        let licenses = v["licenses"].as_array().expect("licenses");
        let names: Vec<&str> = licenses.iter().map(|l| l["license"].as_str().unwrap()).collect();
        assert_eq!(names, ["professional", "basic", "essential", "team-member", "read-only", "administrative"]);
        let holds = |license: &str, who: &str| {
            let l = licenses.iter().find(|l| l["license"] == license).unwrap();
            assert_eq!(l["count"].as_u64().unwrap() as usize, l["users"].as_array().unwrap().len());
            l["users"].as_array().unwrap().iter().any(|u| u["email"] == who)
        };
        assert!(holds("basic", &basic) && !holds("professional", &basic));
        assert!(holds("read-only", &reader));
        assert!(holds("professional", common::ADMIN_EMAIL));
        let total: u64 = licenses.iter().map(|l| l["count"].as_u64().unwrap()).sum();
        assert_eq!(v["total"].as_u64(), Some(total));
        assert!(!v.to_string().contains("\"SYSTEM\""), "the SYSTEM user holds no license");

        let out = ok(srv, &["license", "report"]);
        assert!(out.starts_with("LICENSE"), "{out}");
        let section = out.split("\nbasic (").nth(1).expect("a section of basic users");
        let section = section.split("\n\n").next().unwrap_or_default();
        assert!(section.contains(&basic) && !section.contains(&reader), "{section}");
    });
}

/// CLI commands run next to each other and next to the server: opening a
/// database that is in step takes no table locks, so processes opening one
/// PostgreSQL database at the same time do not deadlock.
#[test]
fn concurrent_cli_processes_can_open_one_postgres_database() {
    let Some(srv) = servers().iter().find(|s| s.backend == "postgres") else { return };
    let results: Vec<(bool, String)> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..10)
            .map(|_| {
                scope.spawn(|| {
                    let mut args = vec!["user".to_string(), "list".to_string()];
                    args.extend(srv.store_args());
                    let out = Command::new(relata_bin())
                        .args(&args)
                        .env("RELATA_LOG", "warn")
                        .stdin(Stdio::null())
                        .output()
                        .expect("run relata");
                    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
                })
            })
            .collect();
        runs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let failed: Vec<&String> = results.iter().filter(|(ok, _)| !ok).map(|(_, e)| e).collect();
    assert!(failed.is_empty(), "{} of 10 concurrent `relata user list` failed: {failed:?}", failed.len());
}

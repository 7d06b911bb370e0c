//! The administrators' screens of the web interface: a role's privilege
//! grid, a user's roles, a team's members, the unit tree, license types
//! and the audit viewer — what they change, checked through the Web API,
//! and what they refuse. `settings.mjs` drives the grid in Chromium.

mod common;

use common::{each_server, uid, Srv};
use serde_json::json;
use uuid::Uuid;

fn role_id(srv: &Srv, name: &str) -> Uuid {
    let rows = srv.get(&format!("/roles?$select=name&$filter=name eq '{name}'")).rows();
    Uuid::parse_str(rows[0]["roleid"].as_str().unwrap()).unwrap()
}

fn privileges(srv: &Srv, role: Uuid) -> Vec<(String, String)> {
    let v = srv.get(&format!("/RetrieveRolePrivilegesRole(RoleId=@r)?@r={role}")).json();
    let mut out: Vec<(String, String)> = v["RolePrivileges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["PrivilegeName"].as_str().unwrap().to_string(), p["Depth"].as_str().unwrap().to_string()))
        .collect();
    out.sort();
    out
}

#[test]
fn role_grid_changes_privileges_through_the_engine() {
    each_server(|srv| {
        let tag = uid();
        let name = format!("Grid {tag}");
        srv.cli(&["role", "create", "--name", &name]);
        let role = role_id(srv, &name);
        let token = &srv.token;
        let html = srv.page_as(token, &format!("/ui/settings/roles/{role}")).text();
        assert!(html.contains("data-privilege=\"prvReadAccount\""), "{html}");
        assert!(html.contains("prvExportToExcel"));
        let csrf = srv.csrf_of(token);
        let r = srv.form_as(
            token,
            &format!("/ui/settings/roles/{role}"),
            &[
                ("csrf", csrf.clone()),
                ("p.prvReadAccount", "2".into()),
                ("p.prvCreateAccount", "1".into()),
                ("p.prvWriteAccount", "0".into()),
                ("g.prvExportToExcel", "1".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(
            privileges(srv, role),
            vec![
                ("prvCreateAccount".into(), "Basic".into()),
                ("prvExportToExcel".into(), "Global".into()),
                ("prvReadAccount".into(), "Local".into()),
            ]
        );
        // A depth the privilege cannot take: a message, nothing changed.
        let r = srv.form_as(
            token,
            &format!("/ui/settings/roles/{role}"),
            &[("csrf", csrf.clone()), ("p.prvReadAccount", "3".into())],
        );
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(privileges(srv, role).len(), 3);

        // System Administrator is shown read-only and cannot be changed.
        let admin_role = role_id(srv, "System Administrator");
        let html = srv.page_as(token, &format!("/ui/settings/roles/{admin_role}")).text();
        assert!(!html.contains("data-testid=\"save-role\""));
        let r = srv.form_as(token, &format!("/ui/settings/roles/{admin_role}"), &[("csrf", csrf.clone())]);
        assert!(r.status == 400 || r.status == 403, "{} {}", r.status, r.text());
        assert!(privileges(srv, admin_role).len() > 50, "System Administrator keeps everything");

        // A Salesperson may read roles but not change them; a reader of
        // accounts only may not even see the grid.
        let rep = srv.new_user(&["Salesperson"]);
        let html = srv.page_as(&rep.token, &format!("/ui/settings/roles/{role}")).text();
        assert!(!html.contains("data-testid=\"save-role\""), "{html}");
        let r = srv.form_as(
            &rep.token,
            &format!("/ui/settings/roles/{role}"),
            &[("csrf", srv.csrf_of(&rep.token)), ("p.prvReadAccount", "8".into())],
        );
        assert!(r.status == 400 || r.status == 403, "{} {}", r.status, r.text());
        assert!(privileges(srv, role).contains(&("prvReadAccount".into(), "Local".into())));
        let reader_role = format!("Accounts only {tag}");
        srv.cli(&["role", "create", "--name", &reader_role]);
        srv.cli(&[
            "role",
            "grant",
            "--role",
            &reader_role,
            "--entity",
            "account",
            "--rights",
            "read",
            "--depth",
            "basic",
        ]);
        let reader = srv.new_user(&[&reader_role]);
        assert_eq!(srv.page_as(&reader.token, &format!("/ui/settings/roles/{role}")).status, 403);
        assert!(!srv.page_as(&reader.token, "/").text().contains("href=\"/ui/settings\""));
        // Without the CSRF value: refused.
        let r = srv.form_as(token, &format!("/ui/settings/roles/{role}"), &[("p.prvReadAccount", "8".into())]);
        assert_eq!(r.status, 403);
    });
}

#[test]
fn roles_members_units_licenses_and_audit() {
    each_server(|srv| {
        let tag = uid();
        let token = &srv.token;
        let csrf = srv.csrf_of(token);
        let user = srv.new_user(&[]);
        let manager = role_id(srv, "Sales Manager");
        let rep_role = role_id(srv, "Salesperson");

        // A user's roles: exactly the ticked ones.
        let r = srv.form_as(
            token,
            &format!("/ui/settings/users/{}/roles", user.id),
            &[("csrf", csrf.clone()), ("ids", manager.to_string()), ("ids", rep_role.to_string())],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let held = |srv: &Srv| {
            let mut v: Vec<String> = srv
                .get(&format!("/systemusers({})/systemuserroles_association?$select=name", user.id))
                .rows()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(held(srv), ["Sales Manager", "Salesperson"]);
        let r = srv.form_as(
            token,
            &format!("/ui/settings/users/{}/roles", user.id),
            &[("csrf", csrf.clone()), ("ids", rep_role.to_string())],
        );
        assert_eq!(r.status, 303);
        assert_eq!(held(srv), ["Salesperson"]);
        // The last System Administrator keeps the role: the engine says why.
        let admin = srv.admin_id();
        let admins_before =
            srv.get(&format!("/systemusers({admin})/systemuserroles_association?$select=name")).rows().len();
        let r = srv.form_as(token, &format!("/ui/settings/users/{admin}/roles"), &[("csrf", csrf.clone())]);
        if r.status != 303 {
            assert_eq!(r.status, 400, "{}", r.text());
            assert!(r.text().contains("role=\"alert\""));
        }
        assert_eq!(
            srv.get(&format!("/systemusers({admin})/systemuserroles_association?$select=name")).rows().len(),
            admins_before,
            "the only administrator keeps their roles"
        );

        // A team's members.
        let bu = srv.get("/businessunits?$select=name&$filter=_parentbusinessunitid_value eq null").rows()[0]
            ["businessunitid"]
            .as_str()
            .unwrap()
            .to_string();
        let team = srv.create(
            "teams",
            &json!({ "name": format!("Team {tag}"), "teamtype": 0, "businessunitid@odata.bind": format!("/businessunits({bu})") }),
        );
        let r = srv.form_as(
            token,
            &format!("/ui/settings/teams/{team}/members"),
            &[("csrf", csrf.clone()), ("ids", user.id.to_string())],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let members = srv.get(&format!("/teams({team})/teammembership_association?$select=fullname")).rows();
        assert!(members.iter().any(|m| m["systemuserid"] == user.id.to_string()), "{members:?}");
        let html = srv.page_as(token, &format!("/ui/settings/teams/{team}/members")).text();
        assert!(html.contains(&format!("value=\"{}\" checked", user.id)), "{html}");

        // The unit tree shows a new child under the root, indented.
        let child = srv.create(
            "businessunits",
            &json!({ "name": format!("Unit {tag}"), "parentbusinessunitid@odata.bind": format!("/businessunits({bu})") }),
        );
        let html = srv.page_as(token, "/ui/settings/units").text();
        let at = html.find(&format!("data-id=\"{child}\"")).expect("the new unit is in the tree");
        assert!(html[..at].rfind("margin-left: 1.5em").is_some());
        assert!(html.contains(&format!("parentbusinessunitid=businessunit:{bu}")));

        // License types with their holders.
        let html = srv.page_as(token, "/ui/settings/licenses").text();
        assert!(html.contains("Professional") && html.contains("Read-Only"), "{html}");

        // The audit viewer: an update made through the Web API, old → new.
        let acc = srv.create("accounts", &json!({ "name": format!("Audit {tag} old") }));
        srv.patch(&format!("/accounts({acc})"), &json!({ "name": format!("Audit {tag} new") })).expect(204);
        let html = srv.page_as(token, "/ui/settings/audit?entity=account&action=2").text();
        assert!(html.contains(&format!("<del>Audit {tag} old</del> → <ins>Audit {tag} new</ins>")), "{html}");
        assert!(html.contains(&acc.to_string()), "the entry links its record");
        // Only for those who may read the audit.
        let rep = srv.new_user(&["Salesperson"]);
        assert_eq!(srv.page_as(&rep.token, "/ui/settings/audit").status, 403);
        // A Salesperson cannot change anyone's roles.
        let r = srv.form_as(
            &rep.token,
            &format!("/ui/settings/users/{}/roles", rep.id),
            &[("csrf", srv.csrf_of(&rep.token)), ("ids", role_id(srv, "System Administrator").to_string())],
        );
        assert!(r.status == 400 || r.status == 403, "{} {}", r.status, r.text());
        assert!(!srv
            .get(&format!("/systemusers({})/systemuserroles_association?$select=name", rep.id))
            .rows()
            .iter()
            .any(|r| r["name"] == "System Administrator"));
    });
}

#[test]
fn role_grid_in_chromium() {
    each_server(|srv| {
        let name = format!("Chromium grid {}", uid());
        srv.cli(&["role", "create", "--name", &name]);
        let role = role_id(srv, &name);
        common::run_ui_script(
            srv,
            "settings.mjs",
            &[("RELATA_ADMIN_TOKEN", srv.token.clone()), ("RELATA_ROLE_ID", role.to_string())],
        );
    });
}

#[test]
fn a_new_record_form_starts_at_the_columns_defaults() {
    each_server(|srv| {
        let html = srv.page_as(&srv.token, "/ui/relata_exchangenodes/new").text();
        // A flag whose default is true starts ticked, so saving the form
        // as it is keeps the default.
        let retire = html.split("id=\"f-relata_retiremissing\"").nth(1).expect("the flag is on the form");
        assert!(retire[..retire.find('>').unwrap()].contains("checked"), "{retire:.200}");
        let dry = html.split("id=\"f-relata_dryrun\"").nth(1).expect("the dry run flag is on the form");
        assert!(!dry[..dry.find('>').unwrap()].contains("checked"));
        // A choice starts at its default option.
        let mode = html.split("id=\"f-relata_productmode\"").nth(1).expect("the product mode is on the form");
        let mode = &mode[..mode.find("</select>").unwrap()];
        assert!(mode.contains("<option value=\"1\" selected>"), "{mode}");
        assert!(!mode.contains("<option value=\"\" selected>"));
    });
}

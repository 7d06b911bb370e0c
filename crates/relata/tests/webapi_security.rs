//! The security model through the Web API: sharing (and what children
//! inherit), assignment cascades, field security, the audit log, license
//! types, role privileges, business units and teams, sign-in.

mod common;

use common::{each_server, enc, last_line, uid, Resp, Srv};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// A user made through the Web API, with a token.
struct User {
    id: Uuid,
    token: String,
    email: String,
}

fn root_bu(srv: &Srv) -> Uuid {
    let who = srv.whoami_as(&srv.token);
    Uuid::parse_str(who["BusinessUnitId"].as_str().unwrap()).unwrap()
}

/// The standard role of that name in the root business unit.
fn role(srv: &Srv, name: &str) -> Uuid {
    let rows = srv
        .get(&format!(
            "/roles?$select=roleid&$filter={}",
            enc(&format!("name eq '{name}' and _businessunitid_value eq {}", root_bu(srv)))
        ))
        .rows();
    assert_eq!(rows.len(), 1, "one role named {name}");
    Uuid::parse_str(rows[0]["roleid"].as_str().unwrap()).unwrap()
}

fn assign_role(srv: &Srv, user: Uuid, role: Uuid) -> Resp {
    srv.post(
        &format!("/systemusers({user})/systemuserroles_association/$ref"),
        &json!({ "@odata.id": format!("{}/roles({role})", srv.api) }),
    )
}

/// A user in business unit `bu` (root when None) with the named roles.
fn user(srv: &Srv, bu: Option<Uuid>, roles: &[&str]) -> User {
    let email = format!("sec-{}@relata.test", uid());
    let bu = bu.unwrap_or_else(|| root_bu(srv));
    let id = srv.create(
        "systemusers",
        &json!({
            "firstname": "Sec", "lastname": format!("User {}", uid()), "internalemailaddress": email,
            "businessunitid@odata.bind": format!("/businessunits({bu})"),
        }),
    );
    for r in roles {
        assign_role(srv, id, role(srv, r)).expect(204);
    }
    let token = last_line(&srv.cli(&["token", "create", "--email", &email]).stdout);
    User { id, token, email }
}

fn business_unit(srv: &Srv, parent: Uuid) -> Uuid {
    srv.create(
        "businessunits",
        &json!({ "name": format!("BU {}", uid()), "parentbusinessunitid@odata.bind": format!("/businessunits({parent})") }),
    )
}

fn get_as(srv: &Srv, token: &str, path: &str) -> Resp {
    srv.send(srv.req_as(token, Method::GET, path))
}

fn send_as(srv: &Srv, token: &str, method: Method, path: &str, body: &Value) -> Resp {
    srv.send(srv.req_as(token, method, path).json(body))
}

fn target(entity: &str, id: Uuid) -> Value {
    json!({ "@odata.type": format!("Microsoft.Dynamics.CRM.{entity}"), format!("{entity}id"): id })
}

fn principal(kind: &str, id: Uuid) -> Value {
    json!({ "@odata.type": format!("Microsoft.Dynamics.CRM.{kind}"), format!("{kind}id"): id })
}

/// `action` (GrantAccess / ModifyAccess) on `record` for `who`, as the holder of `token`.
fn grant(srv: &Srv, token: &str, action: &str, record: (&str, Uuid), who: (&str, Uuid), mask: &str) -> Resp {
    let ((entity, id), (kind, who)) = (record, who);
    send_as(
        srv,
        token,
        Method::POST,
        &format!("/{action}"),
        &json!({ "Target": target(entity, id), "PrincipalAccess": { "Principal": principal(kind, who), "AccessMask": mask } }),
    )
}

fn ids_of(rows: &[Value], key: &str) -> Vec<String> {
    rows.iter().map(|r| r[key].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn sharing_grants_modifies_and_revokes_access() {
    each_server(|srv| {
        let sam = user(srv, None, &["Salesperson"]);
        let tag = uid();
        let acc = srv.create("accounts", &json!({ "name": format!("Shared {tag}") }));
        let path = format!("/accounts({acc})?$select=name");
        get_as(srv, &sam.token, &path).expect_error(404);

        grant(srv, &srv.token, "GrantAccess", ("account", acc), ("systemuser", sam.id), "ReadAccess").expect(204);
        get_as(srv, &sam.token, &path).expect(200);
        let list = get_as(
            srv,
            &sam.token,
            &format!("/accounts?$select=name&$count=true&$filter={}", enc(&format!("name eq 'Shared {tag}'"))),
        );
        assert_eq!(list.rows().len(), 1, "a shared record is listed");
        assert_eq!(list.json()["@odata.count"], 1);
        // Read was shared, not Write; nor may Sam pass on what he lacks.
        send_as(srv, &sam.token, Method::PATCH, &format!("/accounts({acc})"), &json!({ "name": "x" }))
            .expect_error(403);
        let other = user(srv, None, &["Salesperson"]);
        grant(srv, &sam.token, "GrantAccess", ("account", acc), ("systemuser", other.id), "ReadAccess")
            .expect_error(403);

        grant(srv, &srv.token, "ModifyAccess", ("account", acc), ("systemuser", sam.id), "ReadAccess, WriteAccess")
            .expect(204);
        send_as(srv, &sam.token, Method::PATCH, &format!("/accounts({acc})"), &json!({ "telephone1": "555" }))
            .expect(204);

        let shared = srv.get(&format!(
            "/RetrieveSharedPrincipalsAndAccess(Target=@t)?@t={}",
            enc(&format!("{{'@odata.id':'accounts({acc})'}}"))
        ));
        shared.expect(200);
        let v = shared.json();
        let mine: Vec<&Value> = v["PrincipalAccesses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["Principal"]["ownerid"] == sam.id.to_string())
            .collect();
        assert_eq!(mine.len(), 1, "{v}");
        assert_eq!(mine[0]["AccessMask"], "ReadAccess, WriteAccess");
        assert_eq!(mine[0]["Principal"]["@odata.type"], "#Microsoft.Dynamics.CRM.systemuser");

        let access = srv.get(&format!(
            "/systemusers({})/Microsoft.Dynamics.CRM.RetrievePrincipalAccess(Target=@t)?@t={}",
            sam.id,
            enc(&format!("{{\"@odata.id\":\"accounts({acc})\"}}"))
        ));
        access.expect(200);
        let rights = access.json()["AccessRights"].as_str().unwrap().to_string();
        assert!(rights.contains("ReadAccess") && rights.contains("WriteAccess"), "{rights}");
        assert!(!rights.contains("DeleteAccess") && !rights.contains("ShareAccess"), "{rights}");
        // The owner has everything.
        let admin_rights = srv.get(&format!(
            "/systemusers({})/Microsoft.Dynamics.CRM.RetrievePrincipalAccess(Target=@t)?@t={}",
            srv.admin_id(),
            enc(&format!("{{'@odata.id':'accounts({acc})'}}"))
        ));
        assert!(admin_rights.json()["AccessRights"].as_str().unwrap().contains("AssignAccess"));

        let revoke = json!({ "Target": target("account", acc), "Revokee": principal("systemuser", sam.id) });
        srv.post("/RevokeAccess", &revoke).expect(204);
        get_as(srv, &sam.token, &path).expect_error(404);

        // Bad input names the problem and changes nothing.
        let m =
            grant(srv, &srv.token, "GrantAccess", ("account", acc), ("systemuser", sam.id), "ReadAccess, Everything")
                .expect_error(400);
        assert!(m.contains("Everything"), "{m}");
        grant(srv, &srv.token, "GrantAccess", ("account", acc), ("systemuser", Uuid::new_v4()), "ReadAccess")
            .expect_error(404);
        grant(srv, &srv.token, "GrantAccess", ("account", Uuid::new_v4()), ("systemuser", sam.id), "ReadAccess")
            .expect_error(404);
        let cur = srv.get("/transactioncurrencies?$select=transactioncurrencyid&$top=1").rows();
        let cur_id = Uuid::parse_str(cur[0]["transactioncurrencyid"].as_str().unwrap()).unwrap();
        grant(srv, &srv.token, "GrantAccess", ("transactioncurrency", cur_id), ("systemuser", sam.id), "ReadAccess")
            .expect_error(400);
        srv.post("/GrantAccess", &json!({ "Target": target("account", acc) })).expect_error(400);
        srv.get("/GrantAccess").expect_error(405);
        get_as(srv, &sam.token, &path).expect_error(404);
    });
}

#[test]
fn shares_follow_relationships_and_teams() {
    each_server(|srv| {
        let sam = user(srv, None, &["Salesperson"]);
        let team = srv.create("teams", &json!({ "name": format!("Share team {}", uid()) }));
        srv.post(
            &format!("/teams({team})/Microsoft.Dynamics.CRM.AddMembersTeam"),
            &json!({ "Members": [{ "@odata.type": "Microsoft.Dynamics.CRM.systemuser", "ownerid": sam.id }] }),
        )
        .expect(204);
        let acc = srv.create("accounts", &json!({ "name": format!("Parent {}", uid()) }));
        let contact = srv.create(
            "contacts",
            &json!({ "lastname": "Child", "parentcustomerid_account@odata.bind": format!("/accounts({acc})") }),
        );
        let task = srv.create(
            "tasks",
            &json!({ "subject": "Call", "regardingobjectid_account_task@odata.bind": format!("/accounts({acc})") }),
        );
        for p in [format!("/accounts({acc})"), format!("/contacts({contact})"), format!("/tasks({task})")] {
            get_as(srv, &sam.token, &p).expect_error(404);
        }
        grant(srv, &srv.token, "GrantAccess", ("account", acc), ("team", team), "ReadAccess").expect(204);
        for p in [format!("/accounts({acc})"), format!("/contacts({contact})"), format!("/tasks({task})")] {
            get_as(srv, &sam.token, &format!("{p}?$select=createdon")).expect(200);
        }
        // A child added later inherits the parent's shares …
        let late = srv.create(
            "contacts",
            &json!({ "lastname": "Late", "parentcustomerid_account@odata.bind": format!("/accounts({acc})") }),
        );
        get_as(srv, &sam.token, &format!("/contacts({late})?$select=lastname")).expect(200);
        // … and loses them when it moves to another parent.
        let elsewhere = srv.create("accounts", &json!({ "name": format!("Elsewhere {}", uid()) }));
        srv.patch(
            &format!("/contacts({late})"),
            &json!({ "parentcustomerid_account@odata.bind": format!("/accounts({elsewhere})") }),
        )
        .expect(204);
        get_as(srv, &sam.token, &format!("/contacts({late})?$select=lastname")).expect_error(404);
        // Expanding through a visible parent shows only visible children.
        let v = get_as(
            srv,
            &sam.token,
            &format!("/accounts({acc})?$select=name&$expand=contact_customer_accounts($select=lastname)"),
        );
        v.expect(200);
        assert_eq!(v.json()["contact_customer_accounts"].as_array().unwrap().len(), 1);
        // Leaving the team takes the access away; revoking removes it from the children.
        srv.post(
            &format!("/teams({team})/Microsoft.Dynamics.CRM.RemoveMembersTeam"),
            &json!({ "Members": [{ "@odata.type": "Microsoft.Dynamics.CRM.systemuser", "systemuserid": sam.id }] }),
        )
        .expect(204);
        get_as(srv, &sam.token, &format!("/accounts({acc})")).expect_error(404);
        srv.post(
            &format!("/teams({team})/teammembership_association/$ref"),
            &json!({ "@odata.id": format!("{}/systemusers({})", srv.api, sam.id) }),
        )
        .expect(204);
        get_as(srv, &sam.token, &format!("/contacts({contact})?$select=lastname")).expect(200);
        srv.post("/RevokeAccess", &json!({ "Target": target("account", acc), "Revokee": principal("team", team) }))
            .expect(204);
        get_as(srv, &sam.token, &format!("/contacts({contact})?$select=lastname")).expect_error(404);
        get_as(srv, &sam.token, &format!("/tasks({task})?$select=subject")).expect_error(404);
    });
}

#[test]
fn assigning_moves_open_activities_and_needs_a_reader() {
    each_server(|srv| {
        let sam = user(srv, None, &["Salesperson"]);
        let nobody = user(srv, None, &[]);
        let acc = srv.create("accounts", &json!({ "name": format!("Assign {}", uid()) }));
        let contact = srv.create(
            "contacts",
            &json!({ "lastname": "Follows", "parentcustomerid_account@odata.bind": format!("/accounts({acc})") }),
        );
        let open = srv.create(
            "tasks",
            &json!({ "subject": "Open", "regardingobjectid_account_task@odata.bind": format!("/accounts({acc})") }),
        );
        let done = srv.create(
            "tasks",
            &json!({ "subject": "Done", "regardingobjectid_account_task@odata.bind": format!("/accounts({acc})") }),
        );
        srv.patch(&format!("/tasks({done})"), &json!({ "statecode": 1 })).expect(204);

        // Nobody may own what they cannot read.
        let m = srv
            .patch(
                &format!("/accounts({acc})"),
                &json!({ "ownerid@odata.bind": format!("/systemusers({})", nobody.id) }),
            )
            .expect_error(403);
        assert!(m.contains("cannot own"), "{m}");
        srv.patch(&format!("/accounts({acc})"), &json!({ "ownerid@odata.bind": format!("/systemusers({})", sam.id) }))
            .expect(204);
        let owner = |set: &str, id: Uuid| {
            srv.retrieve(set, id, "$select=_ownerid_value")["_ownerid_value"].as_str().unwrap().to_string()
        };
        assert_eq!(owner("accounts", acc), sam.id.to_string());
        assert_eq!(owner("contacts", contact), sam.id.to_string(), "contacts follow their account");
        assert_eq!(owner("tasks", open), sam.id.to_string(), "open activities follow");
        assert_eq!(owner("tasks", done), srv.admin_id().to_string(), "closed activities stay");
        get_as(srv, &sam.token, &format!("/tasks({open})?$select=subject")).expect(200);
        // Sam holds Assign at User depth: he may give his record away, not others'.
        let theirs = srv.create("accounts", &json!({ "name": format!("Not Sam's {}", uid()) }));
        // (With `If-Match: *` a PATCH only updates; without it, it would try
        // to create a record with that id and fail as a duplicate.)
        srv.send(
            srv.req_as(&sam.token, Method::PATCH, &format!("/accounts({theirs})"))
                .header("If-Match", "*")
                .json(&json!({ "ownerid@odata.bind": format!("/systemusers({})", sam.id) })),
        )
        .expect_error(404);
        send_as(
            srv,
            &sam.token,
            Method::PATCH,
            &format!("/accounts({acc})"),
            &json!({ "ownerid@odata.bind": format!("/systemusers({})", srv.admin_id()) }),
        )
        .expect(204);
        get_as(srv, &sam.token, &format!("/accounts({acc})")).expect_error(404);
    });
}

#[test]
fn field_security_hides_values_everywhere() {
    each_server(|srv| {
        let attr = "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='creditlimit')";
        srv.patch(&format!("/{attr}"), &json!({ "IsSecured": true })).expect(204);
        assert_eq!(srv.get(&format!("/{attr}?$select=IsSecured")).json()["IsSecured"], true);
        // Names and keys stay visible.
        srv.patch(
            "/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')",
            &json!({ "IsSecured": true }),
        )
        .expect_error(400);
        srv.patch(&format!("/{attr}"), &json!({ "MaxValue": 5 })).expect_error(400);

        let profile = srv.create("fieldsecurityprofiles", &json!({ "name": format!("Credit readers {}", uid()) }));
        srv.create(
            "fieldpermissions",
            &json!({
                "fieldsecurityprofileid@odata.bind": format!("/fieldsecurityprofiles({profile})"),
                "entityname": "account", "attributelogicalname": "creditlimit",
                "canread": 4, "cancreate": 0, "canupdate": 0,
            }),
        );
        let reader = user(srv, None, &["Sales Manager"]);
        let other = user(srv, None, &["Sales Manager"]);
        srv.post(
            &format!("/fieldsecurityprofiles({profile})/systemuserprofiles_association/$ref"),
            &json!({ "@odata.id": format!("{}/systemusers({})", srv.api, reader.id) }),
        )
        .expect(204);
        let tag = uid();
        let acc = srv.create("accounts", &json!({ "name": format!("Credit {tag}"), "creditlimit": 5000 }));
        let path = format!("/accounts({acc})?$select=name,creditlimit,creditlimit_base");
        let seen = get_as(srv, &reader.token, &path).json();
        assert_eq!(common::dec(&seen["creditlimit"]), common::d("5000"));
        let hidden = get_as(srv, &other.token, &path).json();
        assert!(hidden["creditlimit"].is_null() && hidden["creditlimit_base"].is_null(), "{hidden}");
        assert_eq!(hidden["name"], format!("Credit {tag}"));

        let mine = |token: &str, filter: &str| -> usize {
            get_as(
                srv,
                token,
                &format!("/accounts?$select=name&$filter={}", enc(&format!("name eq 'Credit {tag}' and ({filter})"))),
            )
            .rows()
            .len()
        };
        assert_eq!(mine(&reader.token, "creditlimit gt 1000"), 1);
        assert_eq!(mine(&other.token, "creditlimit gt 1000"), 0, "cannot filter on a hidden value");
        assert_eq!(mine(&other.token, "creditlimit eq null"), 1, "a hidden value is null everywhere");
        let sum = |token: &str| {
            let r = get_as(
                srv,
                token,
                &format!(
                    "/accounts?$apply={}",
                    enc(&format!("filter(name eq 'Credit {tag}')/aggregate(creditlimit with sum as total)"))
                ),
            );
            r.rows()[0]["total"].clone()
        };
        assert_eq!(common::dec(&sum(&reader.token)), common::d("5000"));
        assert!(sum(&other.token).is_null(), "aggregates do not reveal hidden values");
        get_as(
            srv,
            &other.token,
            &format!(
                "/accounts?$select=name&$orderby=creditlimit desc&$filter={}",
                enc(&format!("name eq 'Credit {tag}'"))
            ),
        )
        .expect(200);

        // Writing a secured column needs the profile's create/update permission.
        send_as(srv, &reader.token, Method::PATCH, &format!("/accounts({acc})"), &json!({ "creditlimit": 1 }))
            .expect_error(403);
        send_as(srv, &other.token, Method::POST, "/accounts", &json!({ "name": "x", "creditlimit": 1 }))
            .expect_error(403);
        send_as(srv, &other.token, Method::POST, "/accounts", &json!({ "name": format!("No credit {tag}") }))
            .expect(204);
        assert_eq!(
            common::dec(&srv.retrieve("accounts", acc, "$select=creditlimit")["creditlimit"]),
            common::d("5000")
        );

        // The audit log hides the secured values from those who may not read them.
        srv.patch(&format!("/accounts({acc})"), &json!({ "creditlimit": 7000 })).expect(204);
        let auditors = srv.create(
            "roles",
            &json!({ "name": format!("Auditors {}", uid()), "businessunitid@odata.bind": format!("/businessunits({})", root_bu(srv)) }),
        );
        srv.post(
            &format!("/roles({auditors})/Microsoft.Dynamics.CRM.AddPrivilegesRole"),
            &json!({ "Privileges": [{ "PrivilegeName": "prvReadAuditSummary", "Depth": "Global" }] }),
        )
        .expect(204);
        for u in [&reader, &other] {
            assign_role(srv, u.id, auditors).expect(204);
        }
        let change = |token: &str| -> Value {
            let rows = get_as(
                srv,
                token,
                &format!(
                    "/audits?$select=changedata&$filter={}",
                    enc(&format!("_objectid_value eq {acc} and action eq 2"))
                ),
            )
            .rows();
            let doc: Value = serde_json::from_str(rows[0]["changedata"].as_str().unwrap()).unwrap();
            doc["changedAttributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["logicalName"] == "creditlimit")
                .cloned()
                .unwrap()
        };
        assert_eq!(change(&reader.token)["newValue"], "7000");
        let masked = change(&other.token);
        assert!(masked["oldValue"].is_null() && masked["newValue"].is_null(), "{masked}");

        // Profiles reach team members too.
        let team = srv.create("teams", &json!({ "name": format!("Credit team {}", uid()) }));
        srv.post(
            &format!("/fieldsecurityprofiles({profile})/teamprofiles_association/$ref"),
            &json!({ "@odata.id": format!("{}/teams({team})", srv.api) }),
        )
        .expect(204);
        srv.post(
            &format!("/teams({team})/teammembership_association/$ref"),
            &json!({ "@odata.id": format!("{}/systemusers({})", srv.api, other.id) }),
        )
        .expect(204);
        assert_eq!(common::dec(&get_as(srv, &other.token, &path).json()["creditlimit"]), common::d("7000"));
        // Only holders of the profile entity's privileges manage profiles
        // (a Sales Manager cannot even read them).
        send_as(
            srv,
            &other.token,
            Method::POST,
            &format!("/fieldsecurityprofiles({profile})/systemuserprofiles_association/$ref"),
            &json!({ "@odata.id": format!("{}/systemusers({})", srv.api, other.id) }),
        )
        .expect_error(403);

        srv.patch(&format!("/{attr}"), &json!({ "IsSecured": false })).expect(204);
        let back = get_as(srv, &other.token, &path).json();
        assert_eq!(common::dec(&back["creditlimit"]), common::d("7000"));
    });
}

#[test]
fn the_audit_log_records_changes_and_cannot_be_altered() {
    each_server(|srv| {
        let tag = uid();
        let acc = srv.create("accounts", &json!({ "name": format!("Audited {tag}") }));
        srv.patch(&format!("/accounts({acc})"), &json!({ "name": format!("Audited {tag} renamed") })).expect(204);
        srv.patch(&format!("/accounts({acc})"), &json!({ "statecode": 1 })).expect(204);
        let sam = user(srv, None, &["Salesperson"]);
        grant(srv, &srv.token, "GrantAccess", ("account", acc), ("systemuser", sam.id), "ReadAccess").expect(204);
        srv.delete(&format!("/accounts({acc})")).expect(204);

        let rows = srv
            .get(&format!("/audits?$select=action,operation,changedata,attributemask,_userid_value,createdon&$orderby=createdon asc&$filter={}", enc(&format!("_objectid_value eq {acc}"))))
            .rows();
        let actions: Vec<i64> = rows.iter().map(|r| r["action"].as_i64().unwrap()).collect();
        assert_eq!(actions, vec![1, 2, 41, 14, 3], "create, update, set state, share, delete: {rows:?}");
        assert!(rows.iter().all(|r| r["_userid_value"] == srv.admin_id().to_string()));
        let update: Value = serde_json::from_str(rows[1]["changedata"].as_str().unwrap()).unwrap();
        let name = update["changedAttributes"].as_array().unwrap().iter().find(|c| c["logicalName"] == "name").unwrap();
        assert_eq!(name["oldValue"], format!("Audited {tag}"));
        assert_eq!(name["newValue"], format!("Audited {tag} renamed"));
        assert_eq!(rows[1]["attributemask"], "name");
        assert_eq!(rows[4]["operation"], 3);
        let deleted: Value = serde_json::from_str(rows[4]["changedata"].as_str().unwrap()).unwrap();
        assert!(
            deleted.to_string().contains(&format!("Audited {tag} renamed")),
            "the deleted values are kept: {deleted}"
        );

        // Filtering by user and time works like any query.
        let since = rows[0]["createdon"].as_str().unwrap();
        let mine = srv
            .get(&format!(
                "/audits?$select=action&$filter={}",
                enc(&format!(
                    "_userid_value eq {} and createdon ge {since} and _objectid_value eq {acc}",
                    srv.admin_id()
                ))
            ))
            .rows();
        assert_eq!(mine.len(), 5);
        // Role assignment is audited on the user.
        let role_rows = srv
            .get(&format!(
                "/audits?$select=action&$filter={}",
                enc(&format!("_objectid_value eq {} and action eq 55", sam.id))
            ))
            .rows();
        assert_eq!(role_rows.len(), 1);

        // Nobody writes the audit log, and reading it takes prvReadAuditSummary.
        let audit_id = rows[0]["auditid"].as_str().unwrap();
        srv.post("/audits", &json!({ "action": 1 })).expect_error(400);
        srv.patch(&format!("/audits({audit_id})"), &json!({ "action": 3 })).expect_error(400);
        srv.delete(&format!("/audits({audit_id})")).expect_error(400);
        let m = get_as(srv, &sam.token, "/audits?$top=1").expect_error(403);
        assert!(m.contains("prvReadAuditSummary"), "{m}");
        assert_eq!(
            srv.get(&format!("/audits?$filter={}", enc(&format!("_objectid_value eq {acc}")))).rows().len(),
            5,
            "unchanged"
        );
    });
}

#[test]
fn license_types_cap_what_roles_grant() {
    each_server(|srv| {
        let cases: [(&str, Value); 5] = [
            ("basic", json!({ "caltype": 2 })),
            ("essential", json!({ "caltype": 5 })),
            ("team member", json!({ "caltype": 100 })),
            ("read-only", json!({ "accessmode": 2 })),
            ("administrative", json!({ "accessmode": 1 })),
        ];
        for (license, columns) in cases {
            let u = user(srv, None, &["Sales Manager"]);
            srv.patch(&format!("/systemusers({})", u.id), &columns).expect(204);
            let read = |set: &str| get_as(srv, &u.token, &format!("/{set}?$top=1&$select=createdon")).status;
            let create =
                |set: &str, body: Value| send_as(srv, &u.token, Method::POST, &format!("/{set}"), &body).status;
            let acc = create("accounts", json!({ "name": format!("{license} {}", uid()) }));
            let lead = create("leads", json!({ "lastname": "L", "subject": "S" }));
            let task = create("tasks", json!({ "subject": "T" }));
            let got = (read("accounts"), read("opportunities"), acc, lead, task, read("systemusers"));
            let want = match license {
                "basic" => (200, 403, 204, 204, 204, 200),
                "essential" => (403, 403, 403, 403, 204, 200),
                "team member" => (200, 200, 204, 403, 204, 200),
                "read-only" => (200, 200, 403, 403, 403, 200),
                _ => (403, 403, 403, 403, 403, 200),
            };
            assert_eq!(got, want, "[{}] {license}: (read accounts, read opportunities, create account, create lead, create task, read users)", srv.backend);
        }
        // The same role with a Professional license can do all of it.
        let pro = user(srv, None, &["Sales Manager"]);
        get_as(srv, &pro.token, "/opportunities?$top=1").expect(200);
        // Reporting: users per license type through $apply.
        let groups = srv
            .get(&format!("/systemusers?$apply={}", enc("groupby((caltype,accessmode),aggregate($count as users))")))
            .rows();
        assert!(groups.iter().any(|g| g["caltype"] == 100), "{groups:?}");
    });
}

#[test]
fn role_privileges_are_managed_with_the_dataverse_actions() {
    each_server(|srv| {
        let root = root_bu(srv);
        let r = srv.create("roles", &json!({ "name": format!("Custom {}", uid()), "businessunitid@odata.bind": format!("/businessunits({root})") }));
        let create_id = srv
            .get(&format!("/privileges?$select=privilegeid,canbebasic&$filter={}", enc("name eq 'prvCreateAccount'")))
            .rows()[0]
            .clone();
        assert_eq!(create_id["canbebasic"], true);
        let currency = srv
            .get(&format!(
                "/privileges?$select=canbebasic,canbeglobal&$filter={}",
                enc("name eq 'prvReadTransactionCurrency'")
            ))
            .rows();
        assert_eq!(
            (currency[0]["canbebasic"].clone(), currency[0]["canbeglobal"].clone()),
            (json!(false), json!(true))
        );
        let add = format!("/roles({r})/Microsoft.Dynamics.CRM.AddPrivilegesRole");
        srv.post(
            &add,
            &json!({ "Privileges": [
                { "PrivilegeName": "prvReadAccount", "Depth": "Local" },
                { "PrivilegeId": create_id["privilegeid"], "Depth": "Basic", "BusinessUnitId": root },
            ]}),
        )
        .expect(204);
        let list = |srv: &Srv| {
            let v = srv.get(&format!("/RetrieveRolePrivilegesRole(RoleId=@r)?@r={r}")).json();
            let mut out: Vec<(String, String)> = v["RolePrivileges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["PrivilegeName"].as_str().unwrap().to_string(), p["Depth"].as_str().unwrap().to_string()))
                .collect();
            out.sort();
            out
        };
        assert_eq!(
            list(srv),
            vec![("prvCreateAccount".into(), "Basic".into()), ("prvReadAccount".into(), "Local".into())]
        );
        let expanded =
            srv.get(&format!("/roles({r})?$select=name&$expand=roleprivileges_association($select=name)")).json();
        assert_eq!(expanded["roleprivileges_association"].as_array().unwrap().len(), 2);

        srv.post(&format!("/roles({r})/Microsoft.Dynamics.CRM.ReplacePrivilegesRole"), &json!({ "Privileges": [
            { "PrivilegeName": "prvReadContact", "Depth": "Deep" }, { "PrivilegeName": "prvReadAccount", "Depth": "Global" },
        ]}))
        .expect(204);
        assert_eq!(
            list(srv),
            vec![("prvReadAccount".into(), "Global".into()), ("prvReadContact".into(), "Deep".into())]
        );
        let contact_priv = srv
            .get(&format!("/privileges?$select=privilegeid&$filter={}", enc("name eq 'prvReadContact'")))
            .rows()[0]["privilegeid"]
            .clone();
        srv.post(
            &format!("/roles({r})/Microsoft.Dynamics.CRM.RemovePrivilegeRole"),
            &json!({ "Privilege": { "privilegeid": contact_priv } }),
        )
        .expect(204);
        assert_eq!(list(srv), vec![("prvReadAccount".into(), "Global".into())]);

        // Bad requests name the problem and change nothing.
        srv.post(&add, &json!({ "Privileges": [{ "PrivilegeName": "prvReadAccount", "Depth": "Everywhere" }] }))
            .expect_error(400);
        let m = srv
            .post(&add, &json!({ "Privileges": [{ "PrivilegeName": "prvFlyAccount", "Depth": "Basic" }] }))
            .expect_error(400);
        assert!(m.contains("prvFlyAccount"), "{m}");
        let m = srv
            .post(&add, &json!({ "Privileges": [{ "PrivilegeName": "prvReadTransactionCurrency", "Depth": "Basic" }] }))
            .expect_error(400);
        assert!(m.contains("Global"), "{m}");
        srv.post(&add, &json!({ "Privileges": [{ "PrivilegeName": "prvReadAccount", "Depth": "Basic" }, { "PrivilegeName": "nope", "Depth": "Basic" }] }))
            .expect_error(400);
        assert_eq!(
            list(srv),
            vec![("prvReadAccount".into(), "Global".into())],
            "a failed request leaves the role as it was"
        );
        let admin_role = role(srv, "System Administrator");
        srv.post(
            &format!("/roles({admin_role})/Microsoft.Dynamics.CRM.AddPrivilegesRole"),
            &json!({ "Privileges": [{ "PrivilegeName": "prvReadAccount", "Depth": "Basic" }] }),
        )
        .expect_error(400);
        srv.delete(&format!("/roles({admin_role})")).expect_error(400);

        // No one hands out what they do not hold.
        let delegate_role = srv.create("roles", &json!({ "name": format!("Delegate {}", uid()), "businessunitid@odata.bind": format!("/businessunits({root})") }));
        srv.post(&format!("/roles({delegate_role})/Microsoft.Dynamics.CRM.AddPrivilegesRole"), &json!({ "Privileges": [
            { "PrivilegeName": "prvReadRole", "Depth": "Global" }, { "PrivilegeName": "prvWriteRole", "Depth": "Global" },
            { "PrivilegeName": "prvAssignRole", "Depth": "Global" }, { "PrivilegeName": "prvReadUser", "Depth": "Global" },
            { "PrivilegeName": "prvAppendUser", "Depth": "Global" }, { "PrivilegeName": "prvAppendToUser", "Depth": "Global" },
            { "PrivilegeName": "prvAppendRole", "Depth": "Global" }, { "PrivilegeName": "prvAppendToRole", "Depth": "Global" },
            { "PrivilegeName": "prvReadAccount", "Depth": "Basic" },
        ]}))
        .expect(204);
        let delegate = user(srv, None, &[]);
        assign_role(srv, delegate.id, delegate_role).expect(204);
        let m = send_as(
            srv,
            &delegate.token,
            Method::POST,
            &add,
            &json!({ "Privileges": [{ "PrivilegeName": "prvDeleteAccount", "Depth": "Global" }] }),
        )
        .expect_error(403);
        assert!(m.contains("prvDeleteAccount"), "{m}");
        send_as(
            srv,
            &delegate.token,
            Method::POST,
            &add,
            &json!({ "Privileges": [{ "PrivilegeName": "prvReadAccount", "Depth": "Basic" }] }),
        )
        .expect(204);
        let someone = user(srv, None, &[]);
        send_as(
            srv,
            &delegate.token,
            Method::POST,
            &format!("/systemusers({})/systemuserroles_association/$ref", someone.id),
            &json!({ "@odata.id": format!("{}/roles({})", srv.api, role(srv, "Sales Manager")) }),
        )
        .expect_error(403);
        let sales = user(srv, None, &["Salesperson"]);
        send_as(srv, &sales.token, Method::POST, &add, &json!({ "Privileges": [] })).expect_error(403);

        // What a user holds, through all roles.
        let p = srv.get(&format!("/systemusers({})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()", sales.id)).json();
        let read = p["RolePrivileges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["PrivilegeName"] == "prvReadAccount")
            .cloned()
            .unwrap();
        assert_eq!(read["Depth"], "Basic");
        let by_name = srv.get(&format!("/systemusers({})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName='prvWriteAccount')", sales.id)).json();
        assert_eq!(by_name["RolePrivileges"].as_array().unwrap().len(), 1);
    });
}

#[test]
fn renaming_a_unit_renames_its_default_team_with_version_and_audit() {
    each_server(|srv| {
        let unit = business_unit(srv, root_bu(srv));
        let filter = enc(&format!("_businessunitid_value eq {unit} and isdefault eq true"));
        let team_of =
            || srv.get(&format!("/teams?$select=teamid,name,versionnumber&$filter={filter}")).rows().remove(0);
        let before = team_of();
        let new_name = format!("Renamed {}", uid());
        srv.patch(&format!("/businessunits({unit})"), &json!({ "name": new_name })).expect(204);
        let after = team_of();
        assert_eq!(after["name"], new_name);
        assert!(
            after["versionnumber"].as_i64() > before["versionnumber"].as_i64(),
            "the rename is a versioned write: {before} → {after}"
        );
        // The team's rename is in the audit log like any update.
        let team = after["teamid"].as_str().unwrap().to_string();
        let audits = srv
            .get(&format!(
                "/audits?$select=action,changedata&$filter={}",
                enc(&format!("_objectid_value eq {team} and action eq 2"))
            ))
            .expect(200)
            .rows();
        assert_eq!(audits.len(), 1, "{audits:?}");
        assert!(audits[0]["changedata"].as_str().unwrap_or_default().contains(&new_name), "{audits:?}");
    });
}

#[test]
fn business_units_teams_and_role_inheritance() {
    each_server(|srv| {
        let root = root_bu(srv);
        let a = business_unit(srv, root);
        let a1 = business_unit(srv, a);
        let b = business_unit(srv, root);
        // Every unit gets a default team.
        let defaults = srv
            .get(&format!(
                "/teams?$select=name,isdefault&$filter={}",
                enc(&format!("_businessunitid_value eq {a1} and isdefault eq true"))
            ))
            .rows();
        assert_eq!(defaults.len(), 1);
        // A role belongs to a unit and is inherited below it only.
        let role_a = srv.create("roles", &json!({ "name": format!("A role {}", uid()), "businessunitid@odata.bind": format!("/businessunits({a})") }));
        srv.post(
            &format!("/roles({role_a})/Microsoft.Dynamics.CRM.AddPrivilegesRole"),
            &json!({ "Privileges": [{ "PrivilegeName": "prvReadAccount", "Depth": "Local" }] }),
        )
        .expect(204);
        let in_a1 = user(srv, Some(a1), &[]);
        let in_b = user(srv, Some(b), &["Salesperson"]);
        assign_role(srv, in_a1.id, role_a).expect(204);
        let m = assign_role(srv, in_b.id, role_a).expect_error(400);
        assert!(m.contains("business unit"), "{m}");

        // Local depth reaches the user's own unit.
        let owned_in_a1 = srv.create(
            "accounts",
            &json!({ "name": format!("In A1 {}", uid()), "ownerid@odata.bind": format!("/systemusers({})", in_a1.id) }),
        );
        let admin_acc = srv.create("accounts", &json!({ "name": format!("In root {}", uid()) }));
        get_as(srv, &in_a1.token, &format!("/accounts({owned_in_a1})")).expect(200);
        get_as(srv, &in_a1.token, &format!("/accounts({admin_acc})")).expect_error(404);

        // Moving a user to another unit moves their records, drops roles the
        // new unit does not inherit and changes the default team.
        srv.patch(
            &format!("/systemusers({})", in_a1.id),
            &json!({ "businessunitid@odata.bind": format!("/businessunits({b})") }),
        )
        .expect(204);
        let moved = srv.retrieve("accounts", owned_in_a1, "$select=_owningbusinessunit_value");
        assert_eq!(moved["_owningbusinessunit_value"], b.to_string());
        let privs =
            srv.get(&format!("/systemusers({})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()", in_a1.id)).json();
        assert!(privs["RolePrivileges"].as_array().unwrap().is_empty(), "{privs}");
        let b_default = srv
            .get(&format!(
                "/teams?$select=teamid&$filter={}",
                enc(&format!("_businessunitid_value eq {b} and isdefault eq true"))
            ))
            .rows();
        let b_team = b_default[0]["teamid"].as_str().unwrap();
        let members = srv.get(&format!("/teams({b_team})/teammembership_association?$select=systemuserid")).rows();
        assert!(ids_of(&members, "systemuserid").contains(&in_a1.id.to_string()));
        // Default team membership follows the unit; it cannot be edited.
        srv.delete(&format!("/teams({b_team})/teammembership_association({})/$ref", in_a1.id)).expect_error(400);

        // A team's role reaches from the team's unit, not the member's.
        let team_b = srv.create("teams", &json!({ "name": format!("Team B {}", uid()), "businessunitid@odata.bind": format!("/businessunits({b})") }));
        let role_root = srv.create("roles", &json!({ "name": format!("Root local {}", uid()), "businessunitid@odata.bind": format!("/businessunits({root})") }));
        srv.post(
            &format!("/roles({role_root})/Microsoft.Dynamics.CRM.AddPrivilegesRole"),
            &json!({ "Privileges": [{ "PrivilegeName": "prvReadAccount", "Depth": "Local" }] }),
        )
        .expect(204);
        srv.post(
            &format!("/teams({team_b})/teamroles_association/$ref"),
            &json!({ "@odata.id": format!("{}/roles({role_root})", srv.api) }),
        )
        .expect(204);
        let in_a = user(srv, Some(a), &[]);
        let b_acc = srv.create(
            "accounts",
            &json!({ "name": format!("In B {}", uid()), "ownerid@odata.bind": format!("/systemusers({})", in_b.id) }),
        );
        get_as(srv, &in_a.token, "/accounts?$top=1").expect_error(403);
        srv.post(
            &format!("/teams({team_b})/teammembership_association/$ref"),
            &json!({ "@odata.id": format!("{}/systemusers({})", srv.api, in_a.id) }),
        )
        .expect(204);
        get_as(srv, &in_a.token, &format!("/accounts({b_acc})?$select=name")).expect(200);
        get_as(srv, &in_a.token, &format!("/accounts({admin_acc})")).expect_error(404);
        // Team-owned records are the members' own (Basic depth).
        let team_priv = srv.get(&format!("/teams({team_b})/Microsoft.Dynamics.CRM.RetrieveTeamPrivileges()")).json();
        assert!(team_priv["RolePrivileges"].as_array().unwrap().iter().any(|p| p["PrivilegeName"] == "prvReadAccount"));

        // A unit with users cannot go; an empty one takes its default team with it.
        srv.delete(&format!("/businessunits({b})")).expect_error(400);
        let empty = business_unit(srv, root);
        srv.delete(&format!("/businessunits({empty})")).expect(204);
        assert!(srv
            .get(&format!("/teams?$select=teamid&$filter={}", enc(&format!("_businessunitid_value eq {empty}"))))
            .rows()
            .is_empty());
        // No cycles in the tree.
        srv.patch(
            &format!("/businessunits({a})"),
            &json!({ "parentbusinessunitid@odata.bind": format!("/businessunits({a1})") }),
        )
        .expect_error(400);
    });
}

#[test]
fn disabled_users_and_units_are_shut_out() {
    each_server(|srv| {
        let bu = business_unit(srv, root_bu(srv));
        let u = user(srv, Some(bu), &["Salesperson"]);
        srv.cli(&["user", "password", "--email", &u.email, "--password", "Sign-In-Passw0rd!"]);
        get_as(srv, &u.token, "/WhoAmI").expect(200);
        srv.patch(&format!("/systemusers({})", u.id), &json!({ "isdisabled": true })).expect(204);
        let m = get_as(srv, &u.token, "/WhoAmI").expect_error(401);
        assert!(m.contains("disabled"), "{m}");
        let r = sign_in(srv, &u.email, "Sign-In-Passw0rd!", None);
        assert_eq!(r.status, 400, "{}", r.text());
        srv.patch(&format!("/systemusers({})", u.id), &json!({ "isdisabled": false })).expect(204);
        get_as(srv, &u.token, "/WhoAmI").expect(200);
        srv.patch(&format!("/businessunits({bu})"), &json!({ "isdisabled": true })).expect(204);
        get_as(srv, &u.token, "/WhoAmI").expect_error(401);
        srv.patch(&format!("/businessunits({bu})"), &json!({ "isdisabled": false })).expect(204);
        get_as(srv, &u.token, "/WhoAmI").expect(200);
        // Disabling a unit shuts out the units below it too.
        let child = business_unit(srv, bu);
        let below = user(srv, Some(child), &["Salesperson"]);
        srv.cli(&["user", "password", "--email", &below.email, "--password", "Sign-In-Passw0rd!"]);
        srv.patch(&format!("/businessunits({bu})"), &json!({ "isdisabled": true })).expect(204);
        let m = get_as(srv, &below.token, "/WhoAmI").expect_error(401);
        assert!(m.contains("business unit"), "{m}");
        assert_eq!(sign_in(srv, &below.email, "Sign-In-Passw0rd!", None).status, 400);
        srv.patch(&format!("/businessunits({bu})"), &json!({ "isdisabled": false })).expect(204);
        get_as(srv, &below.token, "/WhoAmI").expect(200);
        // The organization cannot lock itself out.
        srv.patch(&format!("/businessunits({})", root_bu(srv)), &json!({ "isdisabled": true })).expect_error(400);
        let m =
            srv.patch(&format!("/systemusers({})", srv.admin_id()), &json!({ "isdisabled": true })).expect_error(400);
        assert!(m.contains("System Administrator"), "{m}");
        get_as(srv, &srv.token, "/WhoAmI").expect(200);
    });
}

fn sign_in(srv: &Srv, email: &str, password: &str, forwarded_for: Option<&str>) -> Resp {
    let mut rb = srv.client.post(format!("{}/oauth2/token", srv.base_url)).form(&[
        ("grant_type", "password"),
        ("username", email),
        ("password", password),
    ]);
    if let Some(f) = forwarded_for {
        rb = rb.header("X-Forwarded-For", f);
    }
    srv.send(rb)
}

#[test]
fn sign_in_issues_expiring_tokens_and_locks_out_guessing() {
    each_server(|srv| {
        let u = user(srv, None, &["Salesperson"]);
        srv.cli(&["user", "password", "--email", &u.email, "--password", "Right-Passw0rd!"]);
        let ok = sign_in(srv, &u.email, "Right-Passw0rd!", None);
        ok.expect(200);
        let v = ok.json();
        assert_eq!(v["token_type"], "Bearer");
        let secs = v["expires_in"].as_i64().unwrap();
        assert!((3500..=3600).contains(&secs), "one hour by default: {v}");
        let token = v["access_token"].as_str().unwrap().to_string();
        assert_eq!(srv.whoami_as(&token)["UserId"], u.id.to_string());

        // Five wrong passwords lock the account, even for the right one.
        for _ in 0..5 {
            let r = sign_in(srv, &u.email, "wrong-password", None);
            assert_eq!(r.status, 400);
            assert_eq!(r.json()["error"], "invalid_grant");
        }
        let locked = sign_in(srv, &u.email, "Right-Passw0rd!", None);
        assert_eq!(locked.status, 429, "{}", locked.text());
        let retry: u64 = locked.header("Retry-After").expect("Retry-After").parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        // Failures are audited, with the address.
        let failed = srv
            .get(&format!(
                "/audits?$select=useradditionalinfo&$filter={}",
                enc(&format!("action eq 200 and _objectid_value eq {}", u.id))
            ))
            .rows();
        assert_eq!(failed.len(), 5);
        assert!(failed[0]["useradditionalinfo"].as_str().unwrap().contains("address="));
        let signed = srv
            .get(&format!(
                "/audits?$select=action&$filter={}",
                enc(&format!("action eq 65 and _objectid_value eq {}", u.id))
            ))
            .rows();
        assert_eq!(signed.len(), 1);
        // Signing out revokes the token.
        let r = srv.send(srv.client.post(format!("{}/oauth2/revoke", srv.base_url)).form(&[("token", token.as_str())]));
        r.expect(200);
        get_as(srv, &token, "/WhoAmI").expect_error(401);
        // Bad requests.
        let r = srv.send(
            srv.client.post(format!("{}/oauth2/token", srv.base_url)).form(&[("grant_type", "client_credentials")]),
        );
        assert_eq!((r.status, r.json()["error"].clone()), (400, json!("unsupported_grant_type")));
        let r = srv.send(
            srv.client
                .post(format!("{}/oauth2/token", srv.base_url))
                .header("Content-Type", "application/json")
                .body("{nope"),
        );
        assert_eq!(r.status, 400);
    });
}

#[test]
fn expired_tokens_are_refused() {
    each_server(|srv| {
        let u = user(srv, None, &["Salesperson"]);
        let out = srv.cli(&["token", "create", "--email", &u.email, "--expires-days", "1"]);
        let token = last_line(&out.stdout);
        get_as(srv, &token, "/WhoAmI").expect(200);
        let hash = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(token.as_bytes()))
        };
        match &srv.database_url {
            Some(url) => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                c.execute(
                    "UPDATE relata_token SET expires_on = now() - interval '1 minute' WHERE token_hash = $1",
                    &[&hash],
                )
                .unwrap();
            }
            None => {
                let c = rusqlite::Connection::open(srv.data_dir.join("relata.db")).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                c.execute("UPDATE relata_token SET expires_on = 1 WHERE token_hash = ?1", [&hash]).unwrap();
            }
        }
        let m = get_as(srv, &token, "/WhoAmI").expect_error(401);
        assert!(m.contains("expired"), "{m}");
    });
}

#[test]
fn custom_entities_get_privileges_of_their_own() {
    each_server(|srv| {
        let name = format!("new_gizmo{}", common::uid_alpha());
        srv.cli(&["entity", "create", "--name", &name]);
        let set = format!("{name}s");
        let privileges =
            srv.get(&format!("/privileges?$select=name&$filter={}", enc(&format!("endswith(name,'{name}')")))).rows();
        let mut names = ids_of(&privileges, "name");
        names.sort();
        let mut want: Vec<String> = ["Append", "AppendTo", "Assign", "Create", "Delete", "Read", "Share", "Write"]
            .iter()
            .map(|r| format!("prv{r}{name}"))
            .collect();
        want.sort();
        assert_eq!(names, want);
        // Nobody but administrators holds them until a role grants them.
        let sam = user(srv, None, &["Salesperson"]);
        let id = srv.create(&set, &json!({ format!("{}_name", name.split('_').next().unwrap()): "Widget" }));
        get_as(srv, &sam.token, &format!("/{set}({id})")).expect_error(403);
        let customizer = user(srv, None, &["System Customizer"]);
        get_as(srv, &customizer.token, &format!("/{set}({id})")).expect(200);
        let r = srv.create(
            "roles",
            &json!({ "name": format!("Gizmo readers {}", uid()), "businessunitid@odata.bind": format!("/businessunits({})", root_bu(srv)) }),
        );
        srv.post(
            &format!("/roles({r})/Microsoft.Dynamics.CRM.AddPrivilegesRole"),
            &json!({ "Privileges": [{ "PrivilegeName": format!("prvRead{name}"), "Depth": "Global" }] }),
        )
        .expect(204);
        assign_role(srv, sam.id, r).expect(204);
        get_as(srv, &sam.token, &format!("/{set}({id})")).expect(200);
    });
}

#[test]
fn own_and_shared_records_page_in_order() {
    each_server(|srv| {
        let sam = user(srv, None, &["Salesperson"]);
        let tag = uid();
        let mut want = Vec::new();
        for i in 0..5 {
            let name = format!("Page {tag} own {i}");
            send_as(srv, &sam.token, Method::POST, "/accounts", &json!({ "name": name })).expect(204);
            want.push(name);
        }
        for i in 0..3 {
            let name = format!("Page {tag} shared {i}");
            let id = srv.create("accounts", &json!({ "name": name }));
            grant(srv, &srv.token, "GrantAccess", ("account", id), ("systemuser", sam.id), "ReadAccess").expect(204);
            want.push(name);
        }
        srv.create("accounts", &json!({ "name": format!("Page {tag} hidden") }));
        want.sort();
        want.reverse();
        let filter = enc(&format!("startswith(name,'Page {tag}')"));
        let mut url = format!("/accounts?$select=name&$orderby=name desc&$count=true&$filter={filter}");
        let mut got = Vec::new();
        loop {
            let r = srv.send(srv.req_as(&sam.token, Method::GET, &url).header("Prefer", "odata.maxpagesize=2"));
            let v = r.json();
            assert_eq!(v["@odata.count"], 8, "{v}");
            got.extend(r.rows().iter().map(|x| x["name"].as_str().unwrap().to_string()));
            match v["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => break,
            }
        }
        assert_eq!(got, want);
        let top =
            get_as(srv, &sam.token, &format!("/accounts?$select=name&$orderby=name&$top=3&$filter={filter}")).rows();
        let mut first = want.clone();
        first.reverse();
        assert_eq!(ids_of(&top, "name"), first[..3].to_vec());
    });
}

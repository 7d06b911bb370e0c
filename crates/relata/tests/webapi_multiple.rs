//! The bulk operation messages `CreateMultiple` and `UpdateMultiple`
//! through the Web API: many records in one request, all or nothing,
//! with the same validation, privileges and rules as one at a time.

mod common;

use common::{each_server, uid};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

fn account(name: &str) -> Value {
    json!({ "@odata.type": "Microsoft.Dynamics.CRM.account", "name": name })
}

fn named(srv: &common::Srv, prefix: &str) -> Vec<Value> {
    srv.get(&format!("/accounts?$select=name,telephone1&$filter=startswith(name,'{prefix}')&$orderby=name")).rows()
}

#[test]
fn create_multiple_makes_every_record_and_answers_their_ids() {
    each_server(|srv| {
        let tag = format!("Bulk {}", uid());
        let r = srv.post(
            "/accounts/Microsoft.Dynamics.CRM.CreateMultiple",
            &json!({ "Targets": [account(&format!("{tag} A")), account(&format!("{tag} B")), account(&format!("{tag} C"))] }),
        );
        r.expect(200);
        let v = r.json();
        assert!(v["@odata.context"].as_str().is_some_and(|c| c.ends_with("CreateMultipleResponse")), "{v}");
        let ids: Vec<Uuid> =
            v["Ids"].as_array().expect("Ids").iter().map(|i| Uuid::parse_str(i.as_str().unwrap()).unwrap()).collect();
        assert_eq!(ids.len(), 3);
        for (id, letter) in ids.iter().zip(["A", "B", "C"]) {
            assert_eq!(srv.retrieve("accounts", *id, "$select=name")["name"], format!("{tag} {letter}"));
        }
        // Lookups bind as in a create.
        let contact = |last: &str| {
            json!({
                "@odata.type": "Microsoft.Dynamics.CRM.contact",
                "lastname": last,
                "parentcustomerid_account@odata.bind": format!("/accounts({})", ids[0]),
            })
        };
        let r = srv.post(
            "/contacts/Microsoft.Dynamics.CRM.CreateMultiple",
            &json!({ "Targets": [contact("One"), contact("Two")] }),
        );
        r.expect(200);
        let rows = srv.get(&format!("/contacts?$select=lastname&$filter=_parentcustomerid_value eq {}", ids[0])).rows();
        assert_eq!(rows.len(), 2, "{rows:?}");
        // $metadata declares both messages.
        let csdl = srv.get("/$metadata").text();
        assert!(csdl.contains(r#"<Action Name="CreateMultiple" IsBound="true">"#), "CreateMultiple in $metadata");
        assert!(csdl.contains(r#"<Action Name="UpdateMultiple" IsBound="true">"#), "UpdateMultiple in $metadata");
    });
}

#[test]
fn update_multiple_changes_each_record_by_its_key() {
    each_server(|srv| {
        let tag = format!("Upd {}", uid());
        let a = srv.create("accounts", &json!({ "name": format!("{tag} A") }));
        let b = srv.create("accounts", &json!({ "name": format!("{tag} B") }));
        let target = |id: Uuid, phone: &str| json!({ "@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": id, "telephone1": phone });
        srv.post(
            "/accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
            &json!({ "Targets": [target(a, "555-0001"), target(b, "555-0002")] }),
        )
        .expect(204);
        let rows = named(srv, &tag);
        assert_eq!(rows[0]["telephone1"], "555-0001");
        assert_eq!(rows[1]["telephone1"], "555-0002");

        // A record that does not exist refuses the whole batch.
        let r = srv.post(
            "/accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
            &json!({ "Targets": [target(a, "555-0009"), target(Uuid::new_v4(), "555-0009")] }),
        );
        r.expect_error(404);
        assert_eq!(named(srv, &tag)[0]["telephone1"], "555-0001", "nothing was changed");
        // Without its key a record cannot be updated.
        let e = srv
            .post(
                "/accounts/Microsoft.Dynamics.CRM.UpdateMultiple",
                &json!({ "Targets": [{ "@odata.type": "Microsoft.Dynamics.CRM.account", "telephone1": "1" }] }),
            )
            .expect_error(400);
        assert!(e.contains("accountid"), "{e}");
    });
}

#[test]
fn bad_batches_are_refused_whole_with_the_reason() {
    each_server(|srv| {
        let tag = format!("Bad {}", uid());
        let url = "/accounts/Microsoft.Dynamics.CRM.CreateMultiple";
        let cases = [
            (json!({}), "Targets"),
            (json!({ "Targets": [] }), "at least one"),
            (json!({ "Targets": [{ "name": format!("{tag} X") }] }), "@odata.type"),
            (
                json!({ "Targets": [json!({ "@odata.type": "Microsoft.Dynamics.CRM.contact", "lastname": "X" })] }),
                "contact",
            ),
            (json!({ "Targets": [account(&format!("{tag} Y")), json!("not a record")] }), "Targets[1]"),
            (
                json!({ "Targets": [account(&format!("{tag} Z")), { "@odata.type": "Microsoft.Dynamics.CRM.account", "name": 42 }] }),
                "Targets[1]",
            ),
            (
                json!({ "Targets": [account(&format!("{tag} W")), { "@odata.type": "Microsoft.Dynamics.CRM.account", "nosuchcolumn": 1 }] }),
                "nosuchcolumn",
            ),
        ];
        for (body, reason) in cases {
            let e = srv.post(url, &body).expect_error(400);
            assert!(e.contains(reason), "{body}: {e}");
        }
        let too_many: Vec<Value> = (0..1001).map(|i| account(&format!("{tag} {i}"))).collect();
        assert!(srv.post(url, &json!({ "Targets": too_many })).expect_error(400).contains("1000"));
        let r = srv.send(srv.req(Method::GET, url));
        assert_eq!(r.status, 405, "{}", r.text());
        assert!(named(srv, &tag).is_empty(), "no record of a refused batch was made");
    });
}

#[test]
fn a_salesperson_creates_in_bulk_what_it_may_and_cannot_change_others_records() {
    each_server(|srv| {
        let rep = srv.new_user(&["Salesperson"]);
        let tag = format!("Rep {}", uid());
        let r = srv.send(
            srv.req_as(&rep.token, Method::POST, "/accounts/Microsoft.Dynamics.CRM.CreateMultiple")
                .json(&json!({ "Targets": [account(&format!("{tag} A")), account(&format!("{tag} B"))] })),
        );
        r.expect(200);
        let ids: Vec<String> =
            r.json()["Ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        let own = srv.retrieve("accounts", Uuid::parse_str(&ids[0]).unwrap(), "$select=_ownerid_value");
        assert_eq!(own["_ownerid_value"], rep.id.to_string(), "the caller owns what it made");

        // Contacts of the rep's own account: Append and AppendTo checked once for the batch.
        let contact = |last: &str| {
            json!({
                "@odata.type": "Microsoft.Dynamics.CRM.contact",
                "lastname": format!("{tag} {last}"),
                "parentcustomerid_account@odata.bind": format!("/accounts({})", ids[0]),
            })
        };
        let r = srv.send(
            srv.req_as(&rep.token, Method::POST, "/contacts/Microsoft.Dynamics.CRM.CreateMultiple")
                .json(&json!({ "Targets": [contact("One"), contact("Two")] })),
        );
        r.expect(200);
        let rows = srv.get(&format!("/contacts?$select=lastname&$filter=_parentcustomerid_value eq {}", ids[0])).rows();
        assert_eq!(rows.len(), 2, "{rows:?}");

        // The administrator's account is out of the rep's write reach.
        let admins = srv.create("accounts", &json!({ "name": format!("{tag} Admin's") }));
        let body = json!({ "Targets": [
            { "@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": ids[1], "telephone1": "1" },
            { "@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": admins, "telephone1": "1" },
        ] });
        let r = srv
            .send(srv.req_as(&rep.token, Method::POST, "/accounts/Microsoft.Dynamics.CRM.UpdateMultiple").json(&body));
        assert!(r.status == 403 || r.status == 404, "{} {}", r.status, r.text());
        assert!(named(srv, &tag).iter().all(|a| a["telephone1"].is_null()), "nothing was changed");
    });
}

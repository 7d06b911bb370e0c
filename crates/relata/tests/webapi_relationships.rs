//! Associate and disassociate through `$ref`, many-to-many relationships,
//! single-valued references, and cascading deletes.

mod common;

use common::{each_server, enc, null_at, uid};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

#[test]
fn associate_and_disassociate_one_to_many() {
    each_server(|srv| {
        let acc = srv.create("accounts", &json!({ "name": format!("Assoc {}", uid()) }));
        let c1 = srv.create("contacts", &json!({ "lastname": format!("Assoc{}", uid()) }));
        let c2 = srv.create("contacts", &json!({ "lastname": format!("Assoc{}", uid()) }));
        for c in [c1, c2] {
            srv.post(
                &format!("/accounts({acc})/contact_customer_accounts/$ref"),
                &json!({ "@odata.id": format!("{}/contacts({c})", srv.api) }),
            )
            .expect(204);
        }
        for c in [c1, c2] {
            assert_eq!(
                srv.retrieve("contacts", c, "$select=_parentcustomerid_value")["_parentcustomerid_value"],
                acc.to_string()
            );
        }
        assert_eq!(srv.get(&format!("/accounts({acc})/contact_customer_accounts?$select=fullname")).rows().len(), 2);

        // Disassociate by key segment.
        srv.delete(&format!("/accounts({acc})/contact_customer_accounts({c1})/$ref")).expect(204);
        assert!(null_at(&srv.retrieve("contacts", c1, "$select=_parentcustomerid_value"), "_parentcustomerid_value"));
        // Disassociate with $id.
        let id = enc(&format!("{}/contacts({c2})", srv.api));
        srv.delete(&format!("/accounts({acc})/contact_customer_accounts/$ref?$id={id}")).expect(204);
        assert!(null_at(&srv.retrieve("contacts", c2, "$select=_parentcustomerid_value"), "_parentcustomerid_value"));
        assert!(srv.get(&format!("/accounts({acc})/contact_customer_accounts?$select=fullname")).rows().is_empty());

        // Failures: missing target, wrong target type, unknown navigation.
        let r = srv.post(
            &format!("/accounts({acc})/contact_customer_accounts/$ref"),
            &json!({ "@odata.id": format!("{}/contacts({})", srv.api, Uuid::new_v4()) }),
        );
        r.expect_error(404);
        let other = srv.create("accounts", &json!({ "name": format!("Assoc other {}", uid()) }));
        let r = srv.post(
            &format!("/accounts({acc})/contact_customer_accounts/$ref"),
            &json!({ "@odata.id": format!("{}/accounts({other})", srv.api) }),
        );
        r.expect_error(400);
        let r = srv.post(
            &format!("/accounts({acc})/no_such_relationship/$ref"),
            &json!({ "@odata.id": format!("{}/contacts({c1})", srv.api) }),
        );
        assert!(r.status == 400 || r.status == 404, "unknown navigation: {} {}", r.status, r.text());
        r.expect_error(r.status);
        let r = srv.post(&format!("/accounts({acc})/contact_customer_accounts/$ref"), &json!({}));
        r.expect_error(400);
    });
}

#[test]
fn reading_references_with_ref() {
    each_server(|srv| {
        let acc = srv.create("accounts", &json!({ "name": format!("Refs {}", uid()) }));
        let bind = format!("/accounts({acc})");
        let c1 = srv.create("contacts", &json!({ "lastname": "Refs1", "parentcustomerid_account@odata.bind": bind }));
        let c2 = srv.create("contacts", &json!({ "lastname": "Refs2", "parentcustomerid_account@odata.bind": bind }));
        let r = srv.get(&format!("/accounts({acc})/contact_customer_accounts/$ref"));
        let refs = r.rows();
        let mut ids: Vec<uuid::Uuid> =
            refs.iter().map(|v| common::id_from_url(v["@odata.id"].as_str().unwrap_or_default())).collect();
        ids.sort();
        let mut want = vec![c1, c2];
        want.sort();
        assert_eq!(ids, want, "{refs:?}");
        assert!(refs.iter().all(|v| v["@odata.id"].as_str().is_some_and(|s| s.contains("/contacts("))), "{refs:?}");
    });
}

#[test]
fn many_to_many_user_roles() {
    each_server(|srv| {
        let user = srv.new_user(&["Read Only"]);
        let rows = srv.get(&format!("/roles?$select=name,roleid&$filter={}", enc("name eq 'Salesperson'"))).rows();
        assert!(!rows.is_empty(), "the Salesperson role exists");
        let role = Uuid::parse_str(rows[0]["roleid"].as_str().unwrap()).unwrap();

        let names = |srv: &common::Srv| -> Vec<String> {
            let mut v: Vec<String> = srv
                .get(&format!("/systemusers({})/systemuserroles_association?$select=name", user.id))
                .rows()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(srv), vec!["Read Only".to_string()]);

        srv.post(
            &format!("/systemusers({})/systemuserroles_association/$ref", user.id),
            &json!({ "@odata.id": format!("{}/roles({role})", srv.api) }),
        )
        .expect(204);
        assert_eq!(names(srv), vec!["Read Only".to_string(), "Salesperson".to_string()]);
        // The other side sees it too.
        let users = srv
            .get(&format!(
                "/roles({role})/systemuserroles_association?$select=fullname&$filter={}",
                enc(&format!("systemuserid eq {}", user.id))
            ))
            .rows();
        assert_eq!(users.len(), 1, "{users:?}");
        // $expand over a many-to-many relationship.
        let v =
            srv.retrieve("systemusers", user.id, "$select=fullname&$expand=systemuserroles_association($select=name)");
        assert_eq!(v["systemuserroles_association"].as_array().map(Vec::len), Some(2), "{v}");

        srv.delete(&format!("/systemusers({})/systemuserroles_association({role})/$ref", user.id)).expect(204);
        assert_eq!(names(srv), vec!["Read Only".to_string()]);
        // Removing a link that does not exist.
        let r = srv.delete(&format!("/systemusers({})/systemuserroles_association({role})/$ref", user.id));
        assert!(r.status == 204 || r.status == 404, "{} {}", r.status, r.text());
    });
}

#[test]
fn single_valued_reference() {
    each_server(|srv| {
        let acc = srv.create("accounts", &json!({ "name": format!("Ref {}", uid()) }));
        let contact = srv.create("contacts", &json!({ "lastname": format!("Ref{}", uid()) }));
        srv.put(
            &format!("/accounts({acc})/primarycontactid/$ref"),
            &json!({ "@odata.id": format!("{}/contacts({contact})", srv.api) }),
        )
        .expect(204);
        assert_eq!(
            srv.retrieve("accounts", acc, "$select=_primarycontactid_value")["_primarycontactid_value"],
            contact.to_string()
        );
        let r = srv.get(&format!("/accounts({acc})/primarycontactid?$select=fullname"));
        r.expect(200);
        assert_eq!(r.json()["contactid"], contact.to_string());
        srv.delete(&format!("/accounts({acc})/primarycontactid/$ref")).expect(204);
        assert!(null_at(&srv.retrieve("accounts", acc, "$select=_primarycontactid_value"), "_primarycontactid_value"));
        // Wrong type.
        let r = srv.put(
            &format!("/accounts({acc})/primarycontactid/$ref"),
            &json!({ "@odata.id": format!("{}/accounts({acc})", srv.api) }),
        );
        r.expect_error(400);
    });
}

#[test]
fn deleting_an_account_cascades_and_removes_links() {
    each_server(|srv| {
        let tag = uid();
        let acc = srv.create("accounts", &json!({ "name": format!("Cascade {tag}") }));
        let bind = format!("/accounts({acc})");
        let task =
            srv.create("tasks", &json!({ "subject": "cascade", "regardingobjectid_account_task@odata.bind": bind }));
        let note = srv.create(
            "annotations",
            &json!({ "subject": "cascade", "notetext": "x", "objectid_account@odata.bind": bind }),
        );
        let child_contact = srv.create(
            "contacts",
            &json!({ "lastname": format!("Child{tag}"), "parentcustomerid_account@odata.bind": bind }),
        );
        let grandchild_task = srv.create(
            "tasks",
            &json!({ "subject": "deep", "regardingobjectid_contact_task@odata.bind": format!("/contacts({child_contact})") }),
        );
        let child_account =
            srv.create("accounts", &json!({ "name": format!("Sub {tag}"), "parentaccountid@odata.bind": bind }));
        let outsider = srv.create("contacts", &json!({ "lastname": format!("Out{tag}") }));
        srv.patch(
            &format!("/accounts({acc})"),
            &json!({ "primarycontactid@odata.bind": format!("/contacts({outsider})") }),
        )
        .expect(204);

        srv.delete(&format!("/accounts({acc})")).expect(204);
        srv.get(&format!("/accounts({acc})")).expect_error(404);
        srv.get(&format!("/tasks({task})")).expect_error(404);
        srv.get(&format!("/annotations({note})")).expect_error(404);
        srv.get(&format!("/contacts({child_contact})")).expect_error(404);
        srv.get(&format!("/tasks({grandchild_task})")).expect_error(404);
        // parentaccountid is RemoveLink: the sub-account stays, unlinked.
        let v = srv.retrieve("accounts", child_account, "$select=name,_parentaccountid_value");
        assert!(null_at(&v, "_parentaccountid_value"), "{v}");
        // The contact that was only referenced stays.
        srv.retrieve("contacts", outsider, "$select=fullname");
    });
}

#[test]
fn deleting_a_contact_clears_primary_contact() {
    each_server(|srv| {
        let contact = srv.create("contacts", &json!({ "lastname": format!("Prim{}", uid()) }));
        let acc = srv.create(
            "accounts",
            &json!({ "name": format!("Prim {}", uid()), "primarycontactid@odata.bind": format!("/contacts({contact})") }),
        );
        let etag = srv.retrieve("accounts", acc, "$select=name")["@odata.etag"].clone();
        srv.delete(&format!("/contacts({contact})")).expect(204);
        let v = srv.retrieve("accounts", acc, "$select=name,_primarycontactid_value");
        assert!(null_at(&v, "_primarycontactid_value"), "{v}");
        assert_ne!(v["@odata.etag"], etag, "clearing the link is an update of the account");
    });
}

#[test]
fn restrict_blocks_delete_of_a_referenced_currency() {
    each_server(|srv| {
        // transactioncurrency_account is Restrict: a currency in use cannot
        // be deleted.
        let rows = srv.get("/transactioncurrencies?$select=isocurrencycode,transactioncurrencyid&$top=1").rows();
        assert!(!rows.is_empty(), "a base currency exists");
        let cur = rows[0]["transactioncurrencyid"].as_str().unwrap().to_string();
        let acc = srv.create(
            "accounts",
            &json!({ "name": format!("Cur {}", uid()), "transactioncurrencyid@odata.bind": format!("/transactioncurrencies({cur})") }),
        );
        let r = srv.send(srv.req(Method::DELETE, &format!("/transactioncurrencies({cur})")));
        assert!(r.status >= 400 && r.status < 500, "deleting a referenced currency: {} {}", r.status, r.text());
        r.expect_error(r.status);
        srv.retrieve("accounts", acc, "$select=name");
        srv.retrieve("transactioncurrencies", cur.parse().unwrap(), "$select=isocurrencycode");
    });
}

#[test]
fn binding_collections_on_create_links_existing_records() {
    each_server(|srv| {
        let c1 = srv.create("contacts", &json!({ "lastname": format!("Bound1 {}", uid()) }));
        let c2 = srv.create("contacts", &json!({ "lastname": format!("Bound2 {}", uid()) }));
        let lead = srv.create("leads", &json!({ "lastname": "Bound lead", "subject": format!("Bound {}", uid()) }));
        let acc = srv.create(
            "accounts",
            &json!({
                "name": format!("Binder {}", uid()),
                "contact_customer_accounts@odata.bind": [format!("/contacts({c1})"), format!("/contacts({c2})")],
                "accountleads_association@odata.bind": [format!("/leads({lead})")],
            }),
        );
        let v = srv.retrieve("contacts", c1, "$select=_parentcustomerid_value");
        assert_eq!(v["_parentcustomerid_value"], acc.to_string());
        let rows = srv.get(&format!("/accounts({acc})/contact_customer_accounts?$select=contactid")).rows();
        assert_eq!(rows.len(), 2, "{rows:?}");
        let leads = srv.get(&format!("/accounts({acc})/accountleads_association?$select=leadid")).rows();
        assert_eq!(leads.len(), 1, "{leads:?}");
        // A URL of the wrong entity is refused, and nothing is created.
        let name = format!("Refused {}", uid());
        srv.post(
            "/accounts",
            &json!({ "name": name, "contact_customer_accounts@odata.bind": [format!("/leads({lead})")] }),
        )
        .expect_error(400);
        let left = srv.get(&format!("/accounts?$select=name&$filter={}", enc(&format!("name eq '{name}'")))).rows();
        assert!(left.is_empty(), "{left:?}");
    });
}

//! Create, retrieve, update, upsert, delete, conditional operations,
//! lookups, computed columns, money and state/status through the Web API.

mod common;

use common::{d, dec, each_server, null_at, uid};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

#[test]
fn create_returns_204_with_entity_id() {
    each_server(|srv| {
        let name = format!("Create {}", uid());
        let r = srv.post("/accounts", &json!({ "name": name }));
        r.expect(204);
        assert!(r.body.is_empty(), "204 has no body: {}", r.text());
        let h = r.header("OData-EntityId").expect("OData-EntityId header");
        assert!(h.starts_with(&srv.api), "OData-EntityId {h} is an absolute URL under {}", srv.api);
        assert!(h.contains("/accounts("), "OData-EntityId {h} names the entity set");
        let id = r.entity_id();
        let got = srv.retrieve("accounts", id, "$select=name");
        assert_eq!(got["name"], name);
        assert_eq!(got["accountid"], id.to_string());
    });
}

#[test]
fn create_with_return_representation() {
    each_server(|srv| {
        let name = format!("Repr {}", uid());
        let r = srv.send_json(
            Method::POST,
            "/accounts?$select=name,accountid,telephone1",
            &json!({ "name": name, "telephone1": "555-0100" }),
            &[("Prefer", "return=representation")],
        );
        r.expect(201);
        let v = r.json();
        assert_eq!(v["name"], name);
        assert_eq!(v["telephone1"], "555-0100");
        assert!(v["@odata.etag"].as_str().is_some_and(|e| e.starts_with("W/\"")), "etag in {v}");
        assert!(v["@odata.context"].as_str().is_some(), "context in {v}");
        let id = Uuid::parse_str(v["accountid"].as_str().expect("accountid")).unwrap();
        assert_eq!(srv.retrieve("accounts", id, "$select=name")["name"], name);
        let pref = r.header("Preference-Applied").unwrap_or_default();
        assert!(pref.contains("return=representation"), "Preference-Applied: {pref:?}");
    });
}

#[test]
fn retrieve_with_select_returns_only_selected_columns() {
    each_server(|srv| {
        let name = format!("Select {}", uid());
        let id = srv.create("accounts", &json!({ "name": name, "telephone1": "1", "websiteurl": "https://x.test" }));
        let r = srv.get(&format!("/accounts({id})?$select=name,telephone1"));
        r.expect(200);
        let v = r.json();
        assert_eq!(v["name"], name);
        assert_eq!(v["telephone1"], "1");
        assert_eq!(v["accountid"], id.to_string(), "the primary key is always returned");
        assert!(v.get("websiteurl").is_none(), "unselected column returned: {v}");
        assert!(v["@odata.etag"].as_str().is_some(), "etag in {v}");
        let ctx = v["@odata.context"].as_str().unwrap_or_default();
        assert!(ctx.contains("$metadata#accounts"), "context {ctx}");
        let r = srv.get(&format!("/accounts({id})"));
        r.expect(200);
        assert_eq!(r.json()["websiteurl"], "https://x.test", "no $select returns every column");
        // Unknown record and malformed key.
        srv.get(&format!("/accounts({})", Uuid::new_v4())).expect_error(404);
        let r = srv.get("/accounts(not-a-guid)");
        assert!(r.status == 400 || r.status == 404, "malformed key: {} {}", r.status, r.text());
    });
}

#[test]
fn patch_updates_and_returns_204() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({ "name": format!("Upd {}", uid()), "telephone1": "1" }));
        let before = srv.retrieve("accounts", id, "$select=name");
        let r = srv.patch(&format!("/accounts({id})"), &json!({ "telephone1": "2", "numberofemployees": 42 }));
        r.expect(204);
        let v = srv.retrieve("accounts", id, "$select=name,telephone1,numberofemployees");
        assert_eq!(v["telephone1"], "2");
        assert_eq!(v["numberofemployees"], 42);
        assert_eq!(v["name"], before["name"], "columns not sent are kept");
        assert_ne!(v["@odata.etag"], before["@odata.etag"], "an update changes the etag");
        // Clearing a value with null.
        srv.patch(&format!("/accounts({id})"), &json!({ "telephone1": null })).expect(204);
        assert!(null_at(&srv.retrieve("accounts", id, "$select=telephone1"), "telephone1"));
        // PATCH with return=representation answers 200 with the record.
        let r = srv.send_json(
            Method::PATCH,
            &format!("/accounts({id})?$select=telephone1"),
            &json!({ "telephone1": "3" }),
            &[("Prefer", "return=representation")],
        );
        r.expect(200);
        assert_eq!(r.json()["telephone1"], "3");
    });
}

#[test]
fn upsert_creates_a_missing_record() {
    each_server(|srv| {
        let id = Uuid::new_v4();
        let name = format!("Upsert {}", uid());
        let r = srv.patch(&format!("/accounts({id})"), &json!({ "name": name }));
        r.expect(204);
        assert_eq!(r.entity_id(), id, "upsert keeps the GUID from the URL");
        let v = srv.retrieve("accounts", id, "$select=name");
        assert_eq!(v["name"], name);
        // Second PATCH updates it.
        srv.patch(&format!("/accounts({id})"), &json!({ "name": format!("{name} 2") })).expect(204);
        assert_eq!(srv.retrieve("accounts", id, "$select=name")["name"], format!("{name} 2"));
    });
}

#[test]
fn if_none_match_star_prevents_update() {
    each_server(|srv| {
        let name = format!("INM {}", uid());
        let id = srv.create("accounts", &json!({ "name": name }));
        let r = srv.send_json(
            Method::PATCH,
            &format!("/accounts({id})"),
            &json!({ "name": "changed" }),
            &[("If-None-Match", "*")],
        );
        r.expect_error(412);
        assert_eq!(srv.retrieve("accounts", id, "$select=name")["name"], name, "412 changed nothing");
        // On a missing record If-None-Match: * creates it.
        let new = Uuid::new_v4();
        let r = srv.send_json(
            Method::PATCH,
            &format!("/accounts({new})"),
            &json!({ "name": name }),
            &[("If-None-Match", "*")],
        );
        r.expect(204);
        srv.retrieve("accounts", new, "$select=name");
    });
}

#[test]
fn if_match_star_prevents_create() {
    each_server(|srv| {
        let id = Uuid::new_v4();
        let r = srv.send_json(
            Method::PATCH,
            &format!("/accounts({id})"),
            &json!({ "name": "must not exist" }),
            &[("If-Match", "*")],
        );
        r.expect_error(404);
        srv.get(&format!("/accounts({id})")).expect_error(404);
        // On an existing record If-Match: * updates it.
        let id = srv.create("accounts", &json!({ "name": format!("IM {}", uid()) }));
        srv.send_json(Method::PATCH, &format!("/accounts({id})"), &json!({ "telephone1": "9" }), &[("If-Match", "*")])
            .expect(204);
        assert_eq!(srv.retrieve("accounts", id, "$select=telephone1")["telephone1"], "9");
    });
}

#[test]
fn optimistic_concurrency_with_etags() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({ "name": format!("Etag {}", uid()) }));
        let etag = srv.retrieve("accounts", id, "$select=name")["@odata.etag"].as_str().unwrap().to_string();
        // The current etag matches.
        srv.send_json(
            Method::PATCH,
            &format!("/accounts({id})"),
            &json!({ "telephone1": "1" }),
            &[("If-Match", &etag)],
        )
        .expect(204);
        // Now it is stale.
        let r = srv.send_json(
            Method::PATCH,
            &format!("/accounts({id})"),
            &json!({ "telephone1": "2" }),
            &[("If-Match", &etag)],
        );
        r.expect_error(412);
        assert_eq!(srv.retrieve("accounts", id, "$select=telephone1")["telephone1"], "1");
        // A stale etag also protects DELETE.
        let r = srv.send(srv.req(Method::DELETE, &format!("/accounts({id})")).header("If-Match", &etag));
        r.expect_error(412);
        srv.retrieve("accounts", id, "$select=name");
        let current = srv.retrieve("accounts", id, "$select=name")["@odata.etag"].as_str().unwrap().to_string();
        srv.send(srv.req(Method::DELETE, &format!("/accounts({id})")).header("If-Match", &current)).expect(204);
    });
}

#[test]
fn get_with_current_etag_is_not_modified() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({ "name": format!("304 {}", uid()) }));
        let etag = srv.retrieve("accounts", id, "$select=name")["@odata.etag"].as_str().unwrap().to_string();
        let r = srv.get_with(&format!("/accounts({id})?$select=name"), &[("If-None-Match", &etag)]);
        r.expect(304);
        assert!(r.body.is_empty());
        srv.patch(&format!("/accounts({id})"), &json!({ "telephone1": "x" })).expect(204);
        let r = srv.get_with(&format!("/accounts({id})?$select=name"), &[("If-None-Match", &etag)]);
        r.expect(200);
        assert_ne!(r.json()["@odata.etag"].as_str().unwrap(), etag);
        // The Dataverse client habit "If-None-Match: null" is not a condition.
        srv.get_with(&format!("/accounts({id})?$select=name"), &[("If-None-Match", "null")]).expect(200);
    });
}

#[test]
fn delete_returns_204_then_404() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({ "name": format!("Del {}", uid()) }));
        srv.delete(&format!("/accounts({id})")).expect(204);
        srv.get(&format!("/accounts({id})")).expect_error(404);
        srv.delete(&format!("/accounts({id})")).expect_error(404);
        srv.delete(&format!("/accounts({})", Uuid::new_v4())).expect_error(404);
    });
}

#[test]
fn lookups_bind_and_read_back_with_annotations() {
    each_server(|srv| {
        let acc_name = format!("Parent {}", uid());
        let acc = srv.create("accounts", &json!({ "name": acc_name }));
        let contact = srv.create(
            "contacts",
            &json!({
                "firstname": "Anna",
                "lastname": format!("Bind{}", uid()),
                "parentcustomerid_account@odata.bind": format!("/accounts({acc})"),
            }),
        );
        srv.patch(
            &format!("/accounts({acc})"),
            &json!({ "primarycontactid@odata.bind": format!("/contacts({contact})") }),
        )
        .expect(204);
        let a = srv.retrieve("accounts", acc, "$select=name,_primarycontactid_value");
        assert_eq!(a["_primarycontactid_value"], contact.to_string());
        let c = srv.retrieve("contacts", contact, "$select=fullname,_parentcustomerid_value");
        assert_eq!(c["_parentcustomerid_value"], acc.to_string());
        assert!(c.get("_parentcustomerid_value@OData.Community.Display.V1.FormattedValue").is_none());

        let r = srv.get_with(
            &format!("/contacts({contact})?$select=fullname,_parentcustomerid_value"),
            &[("Prefer", "odata.include-annotations=\"*\"")],
        );
        r.expect(200);
        let c = r.json();
        assert_eq!(c["_parentcustomerid_value"], acc.to_string());
        assert_eq!(c["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account", "{c}");
        assert_eq!(c["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"], acc_name, "{c}");
        assert_eq!(
            c["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"],
            "parentcustomerid_account",
            "{c}"
        );
        let applied = r.header("Preference-Applied").unwrap_or_default();
        assert!(applied.contains("odata.include-annotations"), "Preference-Applied: {applied:?}");

        // The full URL form of a bind works too, and so does unbinding with null.
        let other = srv.create("accounts", &json!({ "name": format!("Other {}", uid()) }));
        srv.patch(
            &format!("/contacts({contact})"),
            &json!({ "parentcustomerid_account@odata.bind": format!("{}/accounts({other})", srv.api) }),
        )
        .expect(204);
        assert_eq!(srv.retrieve("contacts", contact, "")["_parentcustomerid_value"], other.to_string());
        srv.patch(&format!("/accounts({acc})"), &json!({ "primarycontactid@odata.bind": null })).expect(204);
        assert!(null_at(&srv.retrieve("accounts", acc, "$select=_primarycontactid_value"), "_primarycontactid_value"));

        // Binding to a missing record or to the wrong entity set fails.
        let r = srv.patch(
            &format!("/accounts({acc})"),
            &json!({ "primarycontactid@odata.bind": format!("/contacts({})", Uuid::new_v4()) }),
        );
        assert!(r.status == 400 || r.status == 404, "bind to a missing record: {} {}", r.status, r.text());
        r.expect_error(r.status);
        let r = srv.patch(
            &format!("/accounts({acc})"),
            &json!({ "primarycontactid@odata.bind": format!("/accounts({other})") }),
        );
        r.expect_error(400);
    });
}

#[test]
fn contact_fullname_is_computed() {
    each_server(|srv| {
        let last = format!("Computed{}", uid());
        let id = srv.create("contacts", &json!({ "firstname": "Ivan", "lastname": last }));
        let v = srv.retrieve("contacts", id, "$select=fullname,firstname,lastname");
        assert_eq!(v["fullname"], format!("Ivan {last}"));
        srv.patch(&format!("/contacts({id})"), &json!({ "firstname": "Pyotr" })).expect(204);
        assert_eq!(srv.retrieve("contacts", id, "$select=fullname")["fullname"], format!("Pyotr {last}"));
        let only_last = srv.create("contacts", &json!({ "lastname": last }));
        assert_eq!(srv.retrieve("contacts", only_last, "$select=fullname")["fullname"], last);
    });
}

#[test]
fn money_is_exact() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({ "name": format!("Money {}", uid()), "revenue": 1234567.89 }));
        let v = srv.retrieve("accounts", id, "$select=revenue,revenue_base");
        assert_eq!(dec(&v["revenue"]), d("1234567.89"), "{v}");
        assert!(!v["revenue_base"].is_null(), "revenue_base present: {v}");
        assert_eq!(dec(&v["revenue_base"]), d("1234567.89"), "base currency rate is 1: {v}");
        srv.patch(&format!("/accounts({id})"), &json!({ "revenue": 0.1 })).expect(204);
        assert_eq!(dec(&srv.retrieve("accounts", id, "$select=revenue")["revenue"]), d("0.1"));
        srv.patch(&format!("/accounts({id})"), &json!({ "revenue": 99999999999.99 })).expect(204);
        assert_eq!(dec(&srv.retrieve("accounts", id, "$select=revenue")["revenue"]), d("99999999999.99"));
        // Out of range (min 0).
        srv.patch(&format!("/accounts({id})"), &json!({ "revenue": -1 })).expect_error(400);
    });
}

#[test]
fn state_and_status() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({ "name": format!("State {}", uid()) }));
        let v = srv.retrieve("accounts", id, "$select=statecode,statuscode");
        assert_eq!(v["statecode"], 0);
        assert_eq!(v["statuscode"], 1);
        // statuscode alone implies its state.
        srv.patch(&format!("/accounts({id})"), &json!({ "statuscode": 2 })).expect(204);
        let v = srv.retrieve("accounts", id, "$select=statecode,statuscode");
        assert_eq!(v["statecode"], 1, "{v}");
        assert_eq!(v["statuscode"], 2, "{v}");
        // statecode alone takes the state's default status.
        srv.patch(&format!("/accounts({id})"), &json!({ "statecode": 0 })).expect(204);
        let v = srv.retrieve("accounts", id, "$select=statecode,statuscode");
        assert_eq!((v["statecode"].as_i64(), v["statuscode"].as_i64()), (Some(0), Some(1)), "{v}");
        // An invalid pair and an unknown value are rejected.
        srv.patch(&format!("/accounts({id})"), &json!({ "statecode": 0, "statuscode": 2 })).expect_error(400);
        srv.patch(&format!("/accounts({id})"), &json!({ "statuscode": 99 })).expect_error(400);
        let v = srv.retrieve("accounts", id, "$select=statecode,statuscode");
        assert_eq!((v["statecode"].as_i64(), v["statuscode"].as_i64()), (Some(0), Some(1)), "unchanged: {v}");
    });
}

#[test]
fn option_set_values_are_validated_and_formatted() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({ "name": format!("Opt {}", uid()), "industrycode": 1 }));
        let r = srv.get_with(
            &format!("/accounts({id})?$select=industrycode,statecode"),
            &[("Prefer", "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"")],
        );
        r.expect(200);
        let v = r.json();
        assert_eq!(v["industrycode"], 1);
        assert_eq!(v["industrycode@OData.Community.Display.V1.FormattedValue"], "Accounting", "{v}");
        assert_eq!(v["statecode@OData.Community.Display.V1.FormattedValue"], "Active", "{v}");
        srv.patch(&format!("/accounts({id})"), &json!({ "industrycode": 987654 })).expect_error(400);
    });
}

#[test]
fn application_required_is_not_enforced_by_the_api() {
    each_server(|srv| {
        // account.name is application-required ("business required"): that is
        // enforced by the apps' forms, not by the Dataverse API, which accepts
        // its absence (only system-required columns are enforced).
        let id = srv.create("accounts", &json!({ "telephone1": format!("no name {}", uid()) }));
        srv.patch(&format!("/accounts({id})"), &json!({ "name": "named" })).expect(204);
        srv.patch(&format!("/accounts({id})"), &json!({ "name": null })).expect(204);
    });
}

#[test]
fn length_limits() {
    each_server(|srv| {
        let long = "x".repeat(161);
        srv.post("/accounts", &json!({ "name": long })).expect_error(400);
        let ok = "y".repeat(160);
        srv.create("accounts", &json!({ "name": ok }));
    });
}

//! `$batch` in the OData v4 multipart/mixed format Dataverse documents:
//! change sets are atomic, GETs run outside them, `$n` references earlier
//! requests of the same change set.

mod common;

use common::{batch_body, each_server, enc, id_from_url, parse_batch, uid, BatchPart, BatchReq, Part, Srv};
use reqwest::Method;
use serde_json::json;

fn send_batch(srv: &Srv, parts: &[Part], prefer: Option<&str>) -> (u16, Vec<BatchPart>, String) {
    let (ct, body) = batch_body(parts);
    let mut rb = srv.req(Method::POST, "/$batch").header("Content-Type", ct).body(body);
    if let Some(p) = prefer {
        rb = rb.header("Prefer", p);
    }
    let r = srv.send(rb);
    let text = r.text();
    if r.status != 200 {
        return (r.status, Vec::new(), text);
    }
    let ct = r.header("Content-Type").unwrap_or_default();
    assert!(ct.starts_with("multipart/mixed"), "batch response Content-Type {ct}: {text}");
    (r.status, parse_batch(&ct, &text), text)
}

fn count_named(srv: &Srv, name: &str) -> usize {
    srv.get(&format!("/accounts?$select=name&$filter={}", enc(&format!("name eq '{name}'")))).rows().len()
}

#[test]
fn change_set_commits_all_creates() {
    each_server(|srv| {
        let tag = uid();
        let reqs: Vec<BatchReq> = (1..=3)
            .map(|i| {
                BatchReq::new(
                    "POST",
                    format!("{}/accounts", srv.api),
                    Some(json!({ "name": format!("Batch {tag} {i}") })),
                )
                .id(&i.to_string())
            })
            .collect();
        let (status, parts, text) = send_batch(srv, &[Part::ChangeSet(reqs)], None);
        assert_eq!(status, 200, "{text}");
        assert_eq!(parts.len(), 3, "{text}");
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p.status, 204, "part {i}: {text}");
            let eid = p.header("OData-EntityId").unwrap_or_else(|| panic!("no OData-EntityId in part {i}: {text}"));
            let id = id_from_url(eid);
            assert_eq!(srv.retrieve("accounts", id, "$select=name")["name"], format!("Batch {tag} {}", i + 1));
        }
        assert_eq!(parts[0].content_id.as_deref(), Some("1"), "Content-ID echoed: {text}");
        // Client libraries find the parts by Dataverse's boundary names.
        assert!(text.trim_start().starts_with("--batchresponse_"), "batch boundary: {text}");
        assert!(text.contains("--changesetresponse_"), "change set boundary: {text}");
    });
}

#[test]
fn failing_change_set_rolls_back() {
    each_server(|srv| {
        let tag = uid();
        let first = format!("Rollback {tag} first");
        let third = format!("Rollback {tag} third");
        let reqs = vec![
            BatchReq::new("POST", format!("{}/accounts", srv.api), Some(json!({ "name": first }))).id("1"),
            BatchReq::new(
                "POST",
                format!("{}/accounts", srv.api),
                Some(json!({ "name": "bad", "nosuchattribute": 1 })),
            )
            .id("2"),
            BatchReq::new("POST", format!("{}/accounts", srv.api), Some(json!({ "name": third }))).id("3"),
        ];
        let (status, parts, text) = send_batch(srv, &[Part::ChangeSet(reqs)], None);
        assert_eq!(status, 200, "{text}");
        assert!(parts.iter().any(|p| p.status == 400), "the failure is reported: {text}");
        assert!(parts.iter().all(|p| p.status >= 400), "no part of a failed change set reports success: {text}");
        let err = parts.iter().find(|p| p.status == 400).unwrap().json();
        assert!(err["error"]["code"].as_str().is_some_and(|c| c.starts_with("0x")), "{err}");
        assert_eq!(count_named(srv, &first), 0, "the first create was rolled back");
        assert_eq!(count_named(srv, &third), 0, "the third create never ran");

        // An update and a delete are rolled back too.
        let keep = srv.create("accounts", &json!({ "name": format!("Keep {tag}"), "telephone1": "1" }));
        let victim = srv.create("accounts", &json!({ "name": format!("Victim {tag}") }));
        let reqs = vec![
            BatchReq::new("PATCH", format!("{}/accounts({keep})", srv.api), Some(json!({ "telephone1": "2" }))).id("1"),
            BatchReq::new("DELETE", format!("{}/accounts({victim})", srv.api), None).id("2"),
            BatchReq::new("PATCH", format!("{}/accounts({keep})", srv.api), Some(json!({ "revenue": "lots" }))).id("3"),
        ];
        let (status, _, text) = send_batch(srv, &[Part::ChangeSet(reqs)], None);
        assert_eq!(status, 200, "{text}");
        assert_eq!(srv.retrieve("accounts", keep, "$select=telephone1")["telephone1"], "1", "update rolled back");
        srv.retrieve("accounts", victim, "$select=name");
    });
}

#[test]
fn gets_outside_change_sets() {
    each_server(|srv| {
        let name = format!("BatchGet {}", uid());
        let id = srv.create("accounts", &json!({ "name": name }));
        let parts = [
            Part::Req(BatchReq::new("GET", format!("{}/accounts({id})?$select=name", srv.api), None)),
            Part::Req(BatchReq::new(
                "GET",
                format!("{}/accounts?$select=name&$filter={}", srv.api, enc(&format!("name eq '{name}'"))),
                None,
            )),
            Part::Req(BatchReq::new("GET", format!("/api/data/v9.2/accounts({id})?$select=name"), None)),
            Part::Req(BatchReq::new("GET", format!("{}/WhoAmI()", srv.api), None)),
        ];
        let (status, parts, text) = send_batch(srv, &parts, None);
        assert_eq!(status, 200, "{text}");
        assert_eq!(parts.len(), 4, "{text}");
        assert!(parts.iter().all(|p| p.status == 200), "{text}");
        assert_eq!(parts[0].json()["name"], name);
        assert_eq!(parts[1].json()["value"].as_array().map(Vec::len), Some(1), "{text}");
        assert_eq!(parts[2].json()["name"], name, "a path-absolute URL works");
        assert!(parts[3].json()["UserId"].as_str().is_some(), "{text}");
        // A GET inside a change set is not allowed.
        let cs = Part::ChangeSet(vec![BatchReq::new("GET", format!("{}/accounts({id})", srv.api), None).id("1")]);
        let (status, parts, text) = send_batch(srv, &[cs], None);
        assert!(status == 400 || parts.iter().any(|p| p.status == 400), "GET in a change set: {status} {text}");
    });
}

#[test]
fn content_id_references_inside_a_change_set() {
    each_server(|srv| {
        let tag = uid();
        let reqs = vec![
            BatchReq::new(
                "POST",
                format!("{}/contacts", srv.api),
                Some(json!({ "firstname": "Ref", "lastname": tag })),
            )
            .id("1"),
            BatchReq::new(
                "POST",
                format!("{}/accounts", srv.api),
                Some(json!({ "name": format!("RefAcc {tag}"), "primarycontactid@odata.bind": "$1" })),
            )
            .id("2"),
            BatchReq::new("PATCH", "$1", Some(json!({ "jobtitle": "Buyer" }))).id("3"),
        ];
        let (status, parts, text) = send_batch(srv, &[Part::ChangeSet(reqs)], None);
        assert_eq!(status, 200, "{text}");
        assert_eq!(parts.len(), 3, "{text}");
        assert!(parts.iter().all(|p| p.status == 204), "{text}");
        let contact = id_from_url(parts[0].header("OData-EntityId").unwrap());
        let account = id_from_url(parts[1].header("OData-EntityId").unwrap());
        let v = srv.retrieve("accounts", account, "$select=name,_primarycontactid_value");
        assert_eq!(v["_primarycontactid_value"], contact.to_string(), "{v}");
        assert_eq!(srv.retrieve("contacts", contact, "$select=jobtitle")["jobtitle"], "Buyer");
    });
}

#[test]
fn a_content_id_reference_outside_a_change_set_fails_that_request_only() {
    each_server(|srv| {
        let name = format!("Kept {}", uid());
        let parts = vec![
            Part::ChangeSet(vec![BatchReq::new(
                "POST",
                format!("{}/accounts", srv.api),
                Some(json!({ "name": name })),
            )
            .id("1")]),
            Part::Req(BatchReq::new("GET", "$1?$select=name", None)),
        ];
        let (status, parts, text) = send_batch(srv, &parts, None);
        // The change set before it committed: the batch answers for both.
        assert_eq!(status, 200, "{text}");
        assert_eq!(parts.len(), 2, "{text}");
        assert_eq!(parts[0].status, 204, "{text}");
        assert_eq!(parts[1].status, 400, "{text}");
        assert!(text.contains("only a request of the same change set"), "{text}");
        assert_eq!(count_named(srv, &name), 1);
    });
}

#[test]
fn batch_stops_at_first_error_unless_continue_on_error() {
    each_server(|srv| {
        let tag = uid();
        let missing = uuid::Uuid::new_v4();
        let mk = |name: &str| {
            vec![
                Part::Req(BatchReq::new("GET", format!("{}/accounts({missing})", srv.api), None)),
                Part::ChangeSet(vec![BatchReq::new(
                    "POST",
                    format!("{}/accounts", srv.api),
                    Some(json!({ "name": name })),
                )
                .id("1")]),
            ]
        };
        let stop = format!("Stop {tag}");
        let (status, parts, text) = send_batch(srv, &mk(&stop), None);
        assert_eq!(status, 200, "{text}");
        assert_eq!(parts[0].status, 404, "{text}");
        assert_eq!(count_named(srv, &stop), 0, "processing stopped at the first error: {text}");

        let go = format!("Go {tag}");
        let (status, parts, text) = send_batch(srv, &mk(&go), Some("odata.continue-on-error"));
        assert_eq!(status, 200, "{text}");
        assert_eq!(parts.len(), 2, "{text}");
        assert_eq!(parts[0].status, 404, "{text}");
        assert_eq!(parts[1].status, 204, "{text}");
        assert_eq!(count_named(srv, &go), 1);
    });
}

#[test]
fn malformed_batches_are_rejected() {
    each_server(|srv| {
        // Not multipart.
        let r = srv.send(srv.req(Method::POST, "/$batch").header("Content-Type", "application/json").body("{}"));
        r.expect_error(400);
        // No boundary.
        let r = srv.send(srv.req(Method::POST, "/$batch").header("Content-Type", "multipart/mixed").body("--x\r\n"));
        r.expect_error(400);
        // Garbage inside a part.
        let body = "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nNOT A REQUEST LINE\r\n--b--\r\n";
        let r =
            srv.send(srv.req(Method::POST, "/$batch").header("Content-Type", "multipart/mixed; boundary=b").body(body));
        assert!(r.status == 400 || (r.status == 200 && r.text().contains("400")), "{} {}", r.status, r.text());
    });
}

//! Error responses in the Dataverse shape, authentication, record-level
//! security, request limits, health and metrics.

mod common;

use common::{each_server, enc, uid};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

#[test]
fn bad_request_bodies() {
    each_server(|srv| {
        let r =
            srv.send(srv.req(Method::POST, "/accounts").header("Content-Type", "application/json").body("{\"name\": "));
        r.expect_error(400);
        let r = srv.send(srv.req(Method::POST, "/accounts").header("Content-Type", "application/json").body("[1,2]"));
        r.expect_error(400);
        let msg = srv.post("/accounts", &json!({ "name": "x", "nosuchattribute": 1 })).expect_error(400);
        assert!(msg.contains("nosuchattribute"), "the message names the attribute: {msg}");
        srv.post("/accounts", &json!({ "name": "x", "revenue": "a lot" })).expect_error(400);
        srv.post("/accounts", &json!({ "name": "x", "numberofemployees": "ten" })).expect_error(400);
        srv.post("/accounts", &json!({ "name": "x", "numberofemployees": 1.5 })).expect_error(400);
        srv.post("/accounts", &json!({ "name": 5 })).expect_error(400);
        srv.post("/accounts", &json!({ "name": "x", "creditonhold": "yes" })).expect_error(400);
        srv.post("/accounts", &json!({ "name": "x", "industrycode": "Accounting" })).expect_error(400);
        srv.post("/accounts", &json!({ "name": "x", "primarycontactid@odata.bind": "not a url" })).expect_error(400);
        srv.post("/contacts", &json!({ "lastname": "x", "birthdate": "not a date" })).expect_error(400);
        // The primary key must be a GUID.
        srv.post("/accounts", &json!({ "accountid": "123", "name": "x" })).expect_error(400);
        // Nothing was created by any of these.
        let rows = srv.get(&format!("/accounts?$select=name&$filter={}", enc("name eq 'x'"))).rows();
        assert!(rows.is_empty(), "{rows:?}");
    });
}

#[test]
fn bad_query_options() {
    each_server(|srv| {
        for q in [
            "$filter=name eq",
            "$filter=name eqq 'x'",
            "$filter=(name eq 'x'",
            "$filter=name eq 'unterminated",
            "$filter=nosuchcolumn eq 1",
            "$filter=contains(nosuchcolumn,'x')",
            "$filter=numberofemployees eq 'abc'",
            "$select=nosuchcolumn",
            "$orderby=nosuchcolumn",
            "$orderby=name sideways",
            "$top=abc",
            "$skip=10",
            "$expand=nosuchnav",
            "$count=maybe",
            "$bogus=1",
        ] {
            let (k, v) = q.split_once('=').unwrap();
            let r = srv.get(&format!("/accounts?{k}={}", enc(v)));
            assert_eq!(r.status, 400, "[{}] ?{q} answered {}: {}", srv.backend, r.status, r.text());
            r.expect_error(400);
        }
        let msg = srv.get(&format!("/accounts?$filter={}", enc("nosuchcolumn eq 1"))).expect_error(400);
        assert!(msg.contains("nosuchcolumn"), "the message names the property: {msg}");
    });
}

#[test]
fn authentication_is_required() {
    each_server(|srv| {
        let url = srv.url("/accounts?$top=1");
        let r = srv.send(srv.raw(Method::GET, &url));
        assert_eq!(r.status, 401, "no token: {}", r.text());
        if !r.body.is_empty() {
            r.expect_error(401);
        }
        assert!(r.header("WWW-Authenticate").is_some_and(|h| h.starts_with("Bearer")), "WWW-Authenticate on 401");
        for bad in ["not-a-token", "", &format!("{}x", srv.token)] {
            let r = srv.send(srv.raw(Method::GET, &url).header("Authorization", format!("Bearer {bad}")));
            assert_eq!(r.status, 401, "bad token {bad:?}: {}", r.text());
        }
        let r = srv.send(srv.raw(Method::GET, &url).header("Authorization", format!("Basic {}", srv.token)));
        assert_eq!(r.status, 401, "wrong scheme: {}", r.text());
        // Writes too.
        let r = srv.send(srv.raw(Method::POST, &srv.url("/accounts")).json(&json!({ "name": "anon" })));
        assert_eq!(r.status, 401);
        let r = srv.send(srv.raw(Method::GET, &srv.url("/$metadata")));
        assert_eq!(r.status, 401, "$metadata needs a token too");
    });
}

#[test]
fn not_found() {
    each_server(|srv| {
        let msg = srv.get("/nosuchthings").expect_error(404);
        assert!(msg.contains("nosuchthings"), "{msg}");
        srv.get(&format!("/nosuchthings({})", Uuid::new_v4())).expect_error(404);
        srv.post("/nosuchthings", &json!({})).expect_error(404);
        let r = srv.get(&format!("/accounts({})", Uuid::new_v4()));
        r.expect_error(404);
        assert_eq!(r.json()["error"]["code"], "0x80040217", "Dataverse's code for a missing record");
        srv.patch(&format!("/contacts({})", Uuid::new_v4()), &json!({ "lastname": "x" })).expect(204);
        srv.send(
            srv.raw(Method::GET, &format!("{}/api/data/v9.2/accounts/nosuchsegment", srv.base_url))
                .bearer_auth(&srv.token),
        )
        .expect_error(404);
        let r = srv.send(srv.raw(Method::GET, &format!("{}/no/such/path", srv.base_url)).bearer_auth(&srv.token));
        assert_eq!(r.status, 404);
    });
}

/// Sends a POST with a `len`-byte body over a raw connection, writing the
/// body from another thread while this one reads the answer, so an early
/// 413 is seen even when the server stops reading the body. Returns the
/// status code.
fn post_oversized(srv: &common::Srv, len: usize) -> u16 {
    use std::io::{Read, Write};
    let addr = srv.base_url.trim_start_matches("http://").to_string();
    let stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let mut w = stream.try_clone().unwrap();
    let head = format!(
        "POST {}/accounts HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         OData-Version: 4.0\r\nAccept: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
        common::API_PATH,
        srv.token
    );
    let writer = std::thread::spawn(move || {
        if w.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = vec![b'a'; 1 << 20];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            if w.write_all(&chunk[..n]).is_err() {
                return;
            }
            sent += n;
        }
    });
    let mut resp = Vec::new();
    let _ = (&stream).read_to_end(&mut resp);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&resp);
    let status_line = text.lines().next().unwrap_or_default();
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("[{}] no HTTP response to an oversized body: {text:?}", srv.backend))
}

#[test]
fn oversized_body_is_rejected() {
    each_server(|srv| {
        // The default limit is 32 MiB.
        assert_eq!(post_oversized(srv, 40 * 1024 * 1024), 413);
        // The server still works afterwards.
        srv.create("accounts", &json!({ "name": format!("After 413 {}", uid()) }));
    });
}

#[test]
fn salesperson_sees_only_own_records() {
    each_server(|srv| {
        let tag = uid();
        let admins = srv.create("accounts", &json!({ "name": format!("Admin's {tag}") }));
        let sp = srv.new_user(&["Salesperson"]);
        let get_as = |path: &str| srv.send(srv.req_as(&sp.token, Method::GET, path));

        // Another user's record looks missing.
        get_as(&format!("/accounts({admins})")).expect_error(404);
        let own = {
            let r = srv.send(
                srv.req_as(&sp.token, Method::POST, "/accounts")
                    .json(&json!({ "name": format!("Salesperson's {tag}") })),
            );
            r.expect(204);
            r.entity_id()
        };
        let v = get_as(&format!("/accounts({own})?$select=name,_ownerid_value")).json();
        assert_eq!(v["_ownerid_value"], sp.id.to_string());
        let rows =
            get_as(&format!("/accounts?$select=name&$filter={}", enc(&format!("contains(name,'{tag}')")))).rows();
        let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec![format!("Salesperson's {tag}")], "lists show only own records");
        let r = get_as(&format!("/accounts?$filter={}&$count=true", enc(&format!("contains(name,'{tag}')"))));
        assert_eq!(r.json()["@odata.count"], 1, "counts too");
        let r = get_as(&format!(
            "/accounts?$apply=filter({})/aggregate($count as n)",
            enc(&format!("contains(name,'{tag}')"))
        ));
        assert_eq!(r.rows()[0]["n"], 1, "aggregates too");
        // Writes to another user's record fail and change nothing.
        let r = srv.send(
            srv.req_as(&sp.token, Method::PATCH, &format!("/accounts({admins})"))
                .json(&json!({ "name": "hijacked" }))
                .header("If-Match", "*"),
        );
        assert!(r.status == 403 || r.status == 404, "{} {}", r.status, r.text());
        r.expect_error(r.status);
        let r = srv.send(srv.req_as(&sp.token, Method::DELETE, &format!("/accounts({admins})")));
        assert!(r.status == 403 || r.status == 404, "{} {}", r.status, r.text());
        assert_eq!(srv.retrieve("accounts", admins, "$select=name")["name"], format!("Admin's {tag}"));
        // The admin sees both.
        let rows =
            srv.get(&format!("/accounts?$select=name&$filter={}", enc(&format!("contains(name,'{tag}')")))).rows();
        assert_eq!(rows.len(), 2);

        // Creating a role needs a privilege a Salesperson does not have.
        let r =
            srv.send(srv.req_as(&sp.token, Method::POST, "/roles").json(&json!({ "name": format!("Sneaky {tag}") })));
        r.expect_error(403);
        // Reading roles is allowed (organization-wide read).
        get_as("/roles?$select=name&$top=1").rows();
    });
}

#[test]
fn health_and_metrics() {
    each_server(|srv| {
        let r = srv.send(srv.client.get(format!("{}/health", srv.base_url)));
        r.expect(200);
        let ct = r.header("Content-Type").unwrap_or_default();
        assert!(ct.starts_with("application/json"), "health Content-Type {ct}");
        let v = r.json();
        assert!(v.is_object(), "{v}");

        // Make some traffic, then read the counters.
        srv.get("/accounts?$top=1").expect(200);
        srv.get("/nosuchthings").expect(404);
        let r = srv.send(srv.client.get(format!("{}/metrics", srv.base_url)));
        r.expect(200);
        let text = r.text();
        let ct = r.header("Content-Type").unwrap_or_default();
        assert!(ct.starts_with("text/plain"), "metrics Content-Type {ct}");
        let counters: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter(|l| l.ends_with(" counter"))
            .map(|l| l.trim_end_matches(" counter"))
            .collect();
        let req_counter = counters
            .iter()
            .find(|n| n.contains("request"))
            .unwrap_or_else(|| panic!("no request counter in /metrics:\n{text}"));
        let total: f64 = text
            .lines()
            .filter(|l| l.starts_with(req_counter) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert!(total >= 2.0, "{req_counter} counts requests ({total}):\n{text}");
    });
}

#[test]
fn the_service_document_is_read_only_and_has_no_version() {
    each_server(|srv| {
        for method in [Method::OPTIONS, Method::TRACE, Method::DELETE, Method::PATCH] {
            let r = srv.send(srv.req(method.clone(), "/"));
            assert_eq!(r.status, 405, "{method} on the service root: {}", r.text());
        }
        let m = srv.get_with("/", &[("If-Match", "W/\"142\"")]).expect_error(412);
        assert!(m.contains("no version"), "{m}");
        let docs = srv.get_with("/", &[("If-Match", "*")]).expect(200).json();
        assert!(docs["value"].as_array().is_some_and(|v| !v.is_empty()));
    });
}

#[test]
fn single_property_writes_honour_if_match() {
    each_server(|srv| {
        let id = srv.create("accounts", &json!({"name": format!("etag {}", uid()), "revenue": 5}));
        let etag = srv.retrieve("accounts", id, "?$select=name")["@odata.etag"].as_str().unwrap().to_string();
        let stale = "W/\"1\"";
        let path = format!("accounts({id})/revenue");
        srv.send(srv.req(Method::DELETE, &path).header("If-Match", stale)).expect_error(412);
        srv.send_json(Method::PUT, &path, &json!({"value": 7}), &[("If-Match", stale)]).expect_error(412);
        assert_eq!(srv.retrieve("accounts", id, "?$select=revenue")["revenue"], 5.0, "refused writes changed nothing");
        srv.send_json(Method::PUT, &path, &json!({"value": 7}), &[("If-Match", &etag)]).expect(204);
        let etag = srv.retrieve("accounts", id, "?$select=name")["@odata.etag"].as_str().unwrap().to_string();
        srv.send(srv.req(Method::DELETE, &path).header("If-Match", &etag)).expect(204);
        assert!(srv.retrieve("accounts", id, "?$select=revenue")["revenue"].is_null());
        srv.send(srv.req(Method::DELETE, &path).header("If-Match", "W/\"abc\"")).expect_error(400);
    });
}

//! The record page at the HTTP level: notes with attachments (upload,
//! download, the size limit), tasks, subgrids, and the actions that are
//! not part of the sales scenario (assign, share, deactivate) — with what
//! they refuse. `ui_sales.rs` drives the sales actions in Chromium.

mod common;

use common::{each_server, uid, Resp, Srv};
use reqwest::Method;
use serde_json::json;

/// A multipart note form, built by hand: (field, file name, bytes).
fn note(srv: &Srv, token: &str, path: &str, parts: &[(&str, Option<&str>, Vec<u8>)]) -> Resp {
    let boundary = format!("----relata{}", uid());
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/plain\r\n\r\n")
                    .as_bytes(),
            ),
            None => body.extend(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    srv.send(
        srv.raw(Method::POST, &format!("{}{path}", srv.base_url))
            .header("Cookie", format!("relata_session={token}"))
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            // The server may answer an oversized upload before reading it all
            // and close the connection; it must not be reused.
            .header("Connection", "close")
            .body(body),
    )
}

#[test]
fn notes_attachments_and_tasks() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let acc = {
            let r = srv.send(
                srv.req_as(&rep.token, Method::POST, "/accounts").json(&json!({ "name": format!("Notes {tag}") })),
            );
            r.expect(204);
            r.entity_id()
        };
        let csrf = srv.csrf_of(&rep.token);
        let path = format!("/ui/accounts/{acc}/notes");
        let content = "Дата;Сумма\n2026-11-24;100\n".as_bytes().to_vec();
        let r = note(
            srv,
            &rep.token,
            &path,
            &[
                ("csrf", None, csrf.clone().into_bytes()),
                ("subject", None, b"Price list".to_vec()),
                ("notetext", None, b"As agreed".to_vec()),
                ("file", Some("prices.csv"), content.clone()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(r.header("location").unwrap().contains("done="));
        let notes =
            srv.get(&format!("/annotations?$select=subject,filename,filesize&$filter=_objectid_value eq {acc}")).rows();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0]["filesize"], content.len());
        let id = notes[0]["annotationid"].as_str().unwrap();
        // The page lists it; the file comes back byte for byte.
        let page = srv.page_as(&rep.token, &format!("/ui/accounts/{acc}")).text();
        assert!(page.contains("Price list") && page.contains("prices.csv"), "{page}");
        let file = srv.page_as(&rep.token, &format!("/ui/annotations/{id}/file"));
        assert_eq!(file.status, 200);
        assert_eq!(file.body, content);
        assert!(file.header("content-disposition").unwrap().contains("prices.csv"));
        // Someone who may not read the account may not read its file.
        let other = srv.new_user(&["Salesperson"]);
        let r = srv.page_as(&other.token, &format!("/ui/annotations/{id}/file"));
        assert_eq!(r.status, 404, "{}", r.text());

        // Over the limit, by a little or by a lot: the record page comes
        // back with the message and the note's text kept, and no note.
        for mb in [6, 20] {
            let big = vec![b'x'; mb * 1024 * 1024];
            let r = note(
                srv,
                &rep.token,
                &path,
                &[
                    ("csrf", None, csrf.clone().into_bytes()),
                    ("subject", None, format!("Kept {mb}").into_bytes()),
                    ("notetext", None, "Текст остаётся".as_bytes().to_vec()),
                    ("file", Some("big.txt"), big),
                ],
            );
            assert_eq!(r.status, 413, "{mb} MB");
            let page = r.text();
            assert!(page.contains("larger than 5 MB"), "{mb} MB: the message names the limit");
            assert!(page.contains(&format!("value=\"Kept {mb}\"")), "{mb} MB: the title is kept");
            assert!(page.contains("Текст остаётся</textarea>"), "{mb} MB: the text is kept");
        }
        assert_eq!(srv.get(&format!("/annotations?$filter=_objectid_value eq {acc}")).rows().len(), 1);
        // No CSRF value: refused.
        let r = note(srv, &rep.token, &path, &[("subject", None, b"Forged".to_vec())]);
        assert_eq!(r.status, 403);
        // An empty note is explained, not saved.
        let r = note(srv, &rep.token, &path, &[("csrf", None, csrf.clone().into_bytes())]);
        assert!(r.header("location").unwrap_or_default().contains("problem="));

        // A task regarding the account shows on its timeline.
        let r = srv.form_as(
            &rep.token,
            &format!("/ui/accounts/{acc}/tasks"),
            &[("csrf", csrf.clone()), ("subject", format!("Call {tag}")), ("scheduledend", "2026-12-01".into())],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let page = srv.page_as(&rep.token, &format!("/ui/accounts/{acc}")).text();
        assert!(page.contains(&format!("Call {tag}")), "{page}");
    });
}

#[test]
fn subgrids_and_record_actions() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let mate = srv.new_user(&["Salesperson"]);
        let post = |path: &str, body: serde_json::Value| {
            let r = srv.send(srv.req_as(&rep.token, Method::POST, path).json(&body));
            r.expect(204);
            r.entity_id()
        };
        let acc = post("/accounts", json!({ "name": format!("Grid {tag}") }));
        post(
            "/contacts",
            json!({ "lastname": format!("Member {tag}"), "parentcustomerid_account@odata.bind": format!("/accounts({acc})") }),
        );
        let page = srv.page_as(&rep.token, &format!("/ui/accounts/{acc}")).text();
        assert!(page.contains("data-subgrid=\"contacts\""), "{page}");
        assert!(page.contains(&format!("Member {tag}")));
        assert!(page.contains(&format!("parentcustomerid=account:{acc}")), "the New link prefills the lookup");

        let csrf = srv.csrf_of(&rep.token);
        let act = |token: &str, csrf: &str, action: &str, extra: Vec<(&str, String)>| {
            let mut form = vec![("csrf", csrf.to_string())];
            form.extend(extra);
            srv.form_as(token, &format!("/ui/accounts/{acc}/act/{action}"), &form)
        };
        // Share with a colleague: they can read it.
        assert_eq!(srv.send(srv.req_as(&mate.token, Method::GET, &format!("/accounts({acc})"))).status, 404);
        let r = act(
            &rep.token,
            &csrf,
            "share",
            vec![("principal", format!("systemuser:{}", mate.id)), ("right_read", "1".into())],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(srv.send(srv.req_as(&mate.token, Method::GET, &format!("/accounts({acc})"))).status, 200);
        // The colleague may read but not write: no action buttons, and a
        // forged action changes nothing.
        let page = srv.page_as(&mate.token, &format!("/ui/accounts/{acc}")).text();
        assert!(!page.contains("data-action=\"deactivate\""), "{page}");
        let r = act(&mate.token, &srv.csrf_of(&mate.token), "deactivate", vec![]);
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(srv.retrieve("accounts", acc, "$select=statecode")["statecode"], 0);
        // Deactivate, then the record is read-only and offers Activate.
        assert_eq!(act(&rep.token, &csrf, "deactivate", vec![]).status, 303);
        assert_eq!(srv.retrieve("accounts", acc, "$select=statecode")["statecode"], 1);
        let page = srv.page_as(&rep.token, &format!("/ui/accounts/{acc}")).text();
        assert!(page.contains("data-action=\"activate\"") && !page.contains("data-testid=\"edit\""), "{page}");
        assert_eq!(act(&rep.token, &csrf, "activate", vec![]).status, 303);
        // Assign to the colleague.
        let r = act(&rep.token, &csrf, "assign", vec![("owner", format!("systemuser:{}", mate.id))]);
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(srv.retrieve("accounts", acc, "$select=_ownerid_value")["_ownerid_value"], mate.id.to_string());
        // An action the record does not offer, or no CSRF value: refused.
        let r = act(&mate.token, &srv.csrf_of(&mate.token), "win", vec![]);
        assert_eq!(r.status, 403);
        let r = srv.form_as(&mate.token, &format!("/ui/accounts/{acc}/act/deactivate"), &[]);
        assert_eq!(r.status, 403);

        // Qualifying a lead twice: the second is not offered and is refused.
        let lead = post(
            "/leads",
            json!({ "subject": format!("Lead {tag}"), "lastname": "Q", "companyname": format!("Q {tag}") }),
        );
        let q = |c: &str| {
            srv.form_as(
                &rep.token,
                &format!("/ui/leads/{lead}/act/qualify"),
                &[
                    ("csrf", c.to_string()),
                    ("CreateAccount", "1".into()),
                    ("CreateContact", "".into()),
                    ("CreateOpportunity", "1".into()),
                ],
            )
        };
        let r = q(&csrf);
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(r.header("location").unwrap().starts_with("/ui/opportunities/"));
        let r = q(&csrf);
        assert_eq!(r.status, 403, "{}", r.text());
        let opps = srv.get(&format!("/opportunities?$filter=_originatingleadid_value eq {lead}")).rows();
        assert_eq!(opps.len(), 1, "qualified once");
    });
}

/// The sales buttons come from the sales module's declarations: the
/// lifecycle says in which states they are offered, the action's
/// parameters and close activity make their forms, and they run through
/// the catalog.
#[test]
fn sales_buttons_follow_the_declared_lifecycle() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let post = |path: &str, body: serde_json::Value| {
            let r = srv.send(srv.req_as(&rep.token, Method::POST, path).json(&body));
            r.expect(204);
            r.entity_id()
        };
        let acc = post("/accounts", json!({ "name": format!("Buyer {tag}") }));
        let opp = post(
            "/opportunities",
            json!({
                "name": format!("Deal {tag}"),
                "estimatedvalue": 1500,
                "customerid_account@odata.bind": format!("/accounts({acc})"),
            }),
        );
        let page = srv.page_as(&rep.token, &format!("/ui/opportunities/{opp}")).text();
        for key in ["win", "lose", "create_quote"] {
            assert!(page.contains(&format!("/act/{key}\"")), "{key} offered on an open opportunity: {page}");
        }
        assert!(!page.contains("/act/reopen\""), "an open opportunity is not reopened");
        // The win form starts from the estimate and asks no status (Won has one).
        let win = section(&page, "data-action=\"win\"");
        assert!(win.contains("name=\"actualrevenue\" value=\"1500\""), "{win}");
        assert!(win.contains("inputmode=\"decimal\"") && !win.contains("name=\"Status\""), "{win}");
        // The lose form offers the statuses of Lost.
        let lose = section(&page, "data-action=\"lose\"");
        assert!(lose.contains("name=\"Status\"") && lose.contains("value=\"5\""), "{lose}");
        assert!(!lose.contains("name=\"actualrevenue\""), "{lose}");
        let ru = srv.page_as(&rep.token, &format!("/ui/opportunities/{opp}?lang=ru")).text();
        assert!(ru.contains("Закрыть как проигранную"), "the button speaks Russian");

        let csrf = srv.csrf_of(&rep.token);
        let act = |key: &str, extra: &[(&str, &str)]| {
            let mut form = vec![("csrf", csrf.clone())];
            form.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            srv.form_as(&rep.token, &format!("/ui/opportunities/{opp}/act/{key}"), &form)
        };
        // A status of another state is refused by the action, and nothing changes.
        let r = act("lose", &[("Status", "3"), ("actualend", "2026-11-30")]);
        assert!(r.header("location").is_some_and(|l| l.contains("problem=")), "{:?}", r.header("location"));
        assert_eq!(srv.retrieve("opportunities", opp, "$select=statecode")["statecode"], 0);
        let r = act("lose", &[("Status", "5"), ("actualend", "2026-11-30"), ("description", "Went elsewhere")]);
        assert_eq!(r.status, 303, "{}", r.text());
        let o = srv.retrieve("opportunities", opp, "$select=statecode,statuscode,actualclosedate");
        assert_eq!((o["statecode"].as_i64(), o["statuscode"].as_i64()), (Some(2), Some(5)), "{o}");
        let closes =
            srv.get(&format!("/opportunitycloses?$select=description&$filter=_opportunityid_value eq {opp}")).rows();
        assert_eq!(closes.len(), 1, "the close activity is written");
        assert_eq!(closes[0]["description"], "Went elsewhere");
        let page = srv.page_as(&rep.token, &format!("/ui/opportunities/{opp}")).text();
        assert!(page.contains("/act/reopen\"") && !page.contains("/act/win\""), "{page}");
        assert_eq!(act("win", &[]).status, 403, "not offered to a lost opportunity, so refused");
        assert_eq!(act("reopen", &[]).status, 303);
        let o = srv.retrieve("opportunities", opp, "$select=statecode,statuscode");
        assert_eq!((o["statecode"].as_i64(), o["statuscode"].as_i64()), (Some(0), Some(1)), "{o}");

        // A quote from the opportunity opens on the new quote; activated, it
        // can be closed with any status of Closed but Revised, which has its
        // own button; it prints.
        let r = act("create_quote", &[]);
        let to = r.header("location").unwrap_or_default();
        assert!(to.starts_with("/ui/quotes/"), "{to}");
        let quote = &to["/ui/quotes/".len()..to.find('?').unwrap_or(to.len())];
        let qpage = format!("/ui/quotes/{quote}");
        let page = srv.page_as(&rep.token, &qpage).text();
        assert!(page.contains("/act/activate\"") && !page.contains("/act/close_quote\""), "{page}");
        assert!(page.contains("data-action=\"print\""), "a quote prints");
        let r = srv.form_as(&rep.token, &format!("{qpage}/act/activate"), &[("csrf", csrf.clone())]);
        assert_eq!(r.status, 303, "{}", r.text());
        let page = srv.page_as(&rep.token, &qpage).text();
        let close = section(&page, "data-action=\"close_quote\"");
        assert!(
            close.contains("value=\"5\"") && close.contains("value=\"6\"") && !close.contains("value=\"7\""),
            "{close}"
        );
        assert!(page.contains("/act/revise\"") && page.contains("/act/create_order\""), "{page}");
        let account_page = srv.page_as(&rep.token, &format!("/ui/accounts/{acc}")).text();
        assert!(!account_page.contains("data-action=\"print\""), "an account does not print");

        // A module's refusal, to a Russian user, is Russian.
        let ru = [("csrf", csrf.clone()), ("zone", "UTC".into()), ("language", "1049".into()), ("locale", "".into())];
        assert_eq!(srv.form_as(&rep.token, "/ui/preferences", &ru).status, 303);
        let r = act("lose", &[("Status", "3"), ("actualend", "2026-11-30")]);
        let to = r.header("location").unwrap_or_default();
        assert!(to.contains("problem="), "{to}");
        let shown = srv.page_as(&rep.token, &to).text();
        assert!(shown.contains("3 — недопустимая причина для LoseOpportunity."), "{shown}");
    });
}

/// The part of a page from `marker` to the end of its element's form.
fn section<'a>(page: &'a str, marker: &str) -> &'a str {
    let start = page.find(marker).unwrap_or_else(|| panic!("{marker} not on the page: {page}"));
    let rest = &page[start..];
    &rest[..rest.find("</details>").unwrap_or(rest.len())]
}

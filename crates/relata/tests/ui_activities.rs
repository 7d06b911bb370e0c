//! Activities from anywhere, at the HTTP level: every activity type's new
//! form opens from its list, a phone call is logged from an account's
//! timeline with its parties and regarding filled in and the user is
//! brought back, the call is closed with an outcome in one step and is
//! then read-only; what is refused is refused. Also the pages that used
//! to answer 400: a product's page, and FetchXML naming a lookup.

mod common;

use common::{each_server, enc, uid, Srv};
use reqwest::Method;
use serde_json::json;

fn account_as(srv: &Srv, token: &str, name: &str) -> uuid::Uuid {
    let r = srv.send(srv.req_as(token, Method::POST, "/accounts").json(&json!({ "name": name })));
    r.expect(204);
    r.entity_id()
}

#[test]
fn activities_are_logged_from_lists_and_timelines() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        // The activities list offers one New button per activity type the
        // user may create, and each form opens; close activities made by
        // their actions are not offered.
        let list = srv.page_as(&rep.token, "/ui/activitypointers");
        assert_eq!(list.status, 200);
        let html = list.text();
        for set in ["tasks", "phonecalls", "emails", "appointments", "letters"] {
            assert!(html.contains(&format!("href=\"/ui/{set}/new\"")), "no New {set} on the activities list");
            let form = srv.page_as(&rep.token, &format!("/ui/{set}/new"));
            assert_eq!(form.status, 200, "/ui/{set}/new: {}", form.text());
            let list = srv.page_as(&rep.token, &format!("/ui/{set}")).text();
            assert!(list.contains("data-testid=\"new\""), "no New button on /ui/{set}");
        }
        assert!(!html.contains("/ui/opportunitycloses/new"), "an opportunity close is made by closing, not by hand");
        assert_eq!(srv.page_as(&rep.token, "/ui/activitypointers/new").status, 403);

        // From an account's timeline: regarding and the recipient are filled
        // in, the sender is the user.
        let acc = account_as(srv, &rep.token, &format!("Timeline {tag}"));
        let page = srv.page_as(&rep.token, &format!("/ui/accounts/{acc}")).text();
        assert!(page.contains("data-testid=\"log-phonecalls\""), "no phone call link on the timeline");
        let link = format!(
            "/ui/phonecalls/new?regardingobjectid=account:{acc}&back=%2Fui%2Faccounts%2F{acc}&to=account:{acc}"
        );
        assert!(
            page.contains(&format!("phonecalls&#x2f;new?regardingobjectid=account:{acc}")),
            "regarding on the link"
        );
        assert!(page.contains(&format!("&amp;to=account:{acc}")), "the account is the call's recipient");
        let form = srv.page_as(&rep.token, &link).text();
        assert!(form.contains(&format!("value=\"account:{acc}\"")), "regarding and recipient prefilled");
        assert!(form.contains(&format!("value=\"systemuser:{}\"", rep.id)), "the sender is the user");
        let csrf = srv.csrf_of(&rep.token);
        let subject = format!("Called {tag}");
        let post = |path: &str, subject: &str| {
            srv.form_as(
                &rep.token,
                path,
                &[
                    ("csrf", csrf.clone()),
                    ("subject", subject.to_string()),
                    ("from", format!("systemuser:{}", rep.id)),
                    ("from__text", "me".into()),
                    ("to", format!("account:{acc}")),
                    ("to__text", "them".into()),
                    ("regardingobjectid", format!("account:{acc}")),
                    ("regardingobjectid__text", "them".into()),
                    ("description", "Asked about the renewal".into()),
                ],
            )
        };
        let r = post(&format!("/ui/phonecalls/new?back=%2Fui%2Faccounts%2F{acc}"), &subject);
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(r.header("location").as_deref(), Some(format!("/ui/accounts/{acc}").as_str()));
        let calls = srv
            .send(srv.req_as(
                &rep.token,
                Method::GET,
                &format!(
                    "/phonecalls?$select=subject,_regardingobjectid_value&$filter=subject eq '{}'&$expand=phonecall_activity_parties($select=participationtypemask,_partyid_value)",
                    enc(&subject)
                ),
            ))
            .rows();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["_regardingobjectid_value"], acc.to_string());
        let mut parties: Vec<(i64, String)> = calls[0]["phonecall_activity_parties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["participationtypemask"].as_i64().unwrap(), p["_partyid_value"].as_str().unwrap().to_string()))
            .collect();
        parties.sort();
        assert_eq!(parties, vec![(1, rep.id.to_string()), (2, acc.to_string())]);
        let call = calls[0]["activityid"].as_str().unwrap().to_string();
        let timeline = srv.page_as(&rep.token, &format!("/ui/accounts/{acc}")).text();
        assert!(timeline.contains(&subject), "the call is on the account's timeline");
        let shown = srv.page_as(&rep.token, &format!("/ui/phonecalls/{call}")).text();
        assert!(shown.contains("data-testid=\"parties\"") && shown.contains("Call To"), "parties on the call's page");

        // A `back` to another site is ignored: the new record's page follows.
        let r = post("/ui/phonecalls/new?back=%2F%2Fevil.example", &format!("Other {tag}"));
        assert_eq!(r.status, 303);
        assert!(r.header("location").unwrap().starts_with("/ui/phonecalls/"), "{:?}", r.header("location"));
        // A party that is not a record the list may name is refused at the field.
        let bad = srv.form_as(
            &rep.token,
            "/ui/phonecalls/new",
            &[
                ("csrf", csrf.clone()),
                ("subject", "x".into()),
                ("to", String::new()),
                ("to__text", format!("Nobody {tag}")),
            ],
        );
        assert_eq!(bad.status, 400);
        assert!(bad.text().contains(&format!("Nobody {tag}")), "the message names what was typed");

        // Closed with an outcome in one step; then read-only.
        let r = srv.form_as(
            &rep.token,
            &format!("/ui/phonecalls/{call}/act/complete"),
            &[("csrf", csrf.clone()), ("status", "2".into()), ("outcome", "Renewal agreed".into())],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let done = srv.retrieve("phonecalls", call.parse().unwrap(), "$select=statecode,statuscode,description");
        assert_eq!(done["statecode"], 1);
        assert_eq!(done["statuscode"], 2);
        assert_eq!(done["description"], "Asked about the renewal\n\nRenewal agreed");
        let page = srv.page_as(&rep.token, &format!("/ui/phonecalls/{call}")).text();
        assert!(!page.contains("/act/complete"), "a completed call offers no completion");
        // Completing again is refused and changes nothing.
        let again = srv.form_as(
            &rep.token,
            &format!("/ui/phonecalls/{call}/act/cancel_activity"),
            &[("csrf", csrf.clone()), ("status", "3".into())],
        );
        assert!(again.status >= 400 || again.header("location").is_some_and(|l| l.contains("problem")));
        assert_eq!(srv.retrieve("phonecalls", call.parse().unwrap(), "$select=statecode")["statecode"], 1);

        // Someone who may not read the account cannot log against it.
        let other = srv.new_user(&["Salesperson"]);
        let hidden = srv.form_as(
            &other.token,
            "/ui/phonecalls/new",
            &[
                ("csrf", srv.csrf_of(&other.token)),
                ("subject", format!("Sneaky {tag}")),
                ("regardingobjectid", format!("account:{acc}")),
                ("regardingobjectid__text", "x".into()),
            ],
        );
        assert!(hidden.status >= 400, "{}", hidden.status);
        let sneaky = srv.get(&format!("/phonecalls?$select=subject&$filter=subject eq 'Sneaky {tag}'")).rows();
        assert!(sneaky.is_empty(), "nothing is written when refused");
    });
}

#[test]
fn product_pages_open_and_fetchxml_names_lookups() {
    each_server(|srv| {
        let tag = uid();
        let product =
            srv.create("products", &json!({ "name": format!("Widget {tag}"), "productnumber": format!("W-{tag}") }));
        let page = srv.page_as(&srv.token, &format!("/ui/products/{product}"));
        assert_eq!(page.status, 200, "{}", page.text());
        // FetchXML names lookups by their logical names, in conditions and orders.
        let acc = srv.create("accounts", &json!({ "name": format!("Fetch {tag}") }));
        let c = srv.create(
            "contacts",
            &json!({ "lastname": format!("Fetch {tag}"), "parentcustomerid_account@odata.bind": format!("/accounts({acc})") }),
        );
        let fetch = format!(
            r#"<fetch><entity name="contact"><attribute name="fullname"/><filter><condition attribute="parentcustomerid" operator="eq" value="{acc}"/></filter><order attribute="parentcustomerid"/></entity></fetch>"#
        );
        let rows = srv.get(&format!("/contacts?fetchXml={}", enc(&fetch))).rows();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["contactid"], c.to_string());
    });
}

//! Notifications in the header and the email form's templates and
//! signature, at the HTTP level on a real server (both databases): a
//! record assigned to a salesperson lights the bell and lists the
//! notification with a link to the record; marking it read (one, or all)
//! puts the bell back to 0, and nobody else can mark it; the new email
//! form fills a template in for the regarding contact (its values
//! HTML-escaped), explains a template it cannot use, and starts a fresh
//! email with the user's default signature. Then the bell and the email
//! form in Chromium.

mod common;

use common::{each_server, uid, Srv, TestUser};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// The bell's count on a page, as the header shows it.
fn bell(srv: &Srv, token: &str) -> u32 {
    let html = srv.page_as(token, "/").text();
    let at = html.find("data-testid=\"notifications\" data-count=\"").expect("the header has the bell") + 40;
    html[at..].split('"').next().unwrap().parse().expect("the bell's count is a number")
}

/// The user's notifications through the Web API: (id, title, isread).
fn notifications(srv: &Srv, user: &TestUser, tag: &str) -> Vec<(Uuid, String, bool)> {
    let r = srv.send(srv.req_as(
        &user.token,
        Method::GET,
        &format!("/appnotifications?$select=title,isread&$filter=contains(title,'{tag}')&$orderby=createdon"),
    ));
    r.expect(200);
    r.rows()
        .iter()
        .map(|n| {
            (
                n["appnotificationid"].as_str().unwrap().parse().unwrap(),
                n["title"].as_str().unwrap().to_string(),
                n["isread"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn assign(srv: &Srv, account: Uuid, to: Uuid) {
    srv.patch(&format!("/accounts({account})"), &json!({ "ownerid@odata.bind": format!("/systemusers({to})") }))
        .expect(204);
}

#[test]
fn the_bell_counts_unread_notifications_and_they_are_marked_read() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let other = srv.new_user(&["Salesperson"]);
        assert_eq!(bell(srv, &rep.token), 0, "[{}] a new user has nothing unread", srv.backend);

        // An account assigned to the rep tells them.
        let name = format!("Bell {tag}");
        let account = srv.create("accounts", &json!({ "name": name }));
        assign(srv, account, rep.id);
        assert_eq!(bell(srv, &rep.token), 1, "[{}] the assignment is unread", srv.backend);
        assert_eq!(bell(srv, &other.token), 0, "[{}] nobody else is told", srv.backend);
        let page = srv.page_as(&rep.token, "/ui/notifications");
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        assert!(html.contains(&format!("Account assigned to you: {name}")), "[{}] listed:\n{html}", srv.backend);
        assert!(html.contains(&format!("href=\"/ui/accounts/{account}\"")), "[{}] links to the account", srv.backend);
        assert!(html.contains("Test Admin assigned the account"), "[{}] the body is shown", srv.backend);
        assert!(html.contains("data-testid=\"mark-read\""), "[{}] a Mark as read button", srv.backend);
        let ru = srv.page_as(&rep.token, "/ui/notifications?lang=ru").text();
        assert!(ru.contains("Отметить все как прочитанные"), "[{}] in Russian", srv.backend);

        let found = notifications(srv, &rep, &tag);
        assert_eq!(found.len(), 1, "[{}] {found:?}", srv.backend);
        let (id, _, read) = found[0].clone();
        assert!(!read);

        // Someone else cannot mark it, one by one or all at once.
        let theirs = srv.csrf_of(&other.token);
        let r = srv.form_as(&other.token, &format!("/ui/notifications/{id}/read"), &[("csrf", theirs.clone())]);
        assert!(matches!(r.status, 403 | 404), "[{}] another user's mark: {} {}", srv.backend, r.status, r.text());
        let r = srv.form_as(&other.token, "/ui/notifications/read-all", &[("csrf", theirs)]);
        assert_eq!(r.status, 303, "[{}] {}", srv.backend, r.text());
        assert!(!notifications(srv, &rep, &tag)[0].2, "[{}] still unread", srv.backend);
        assert_eq!(bell(srv, &rep.token), 1);
        // Nor without the CSRF value of the rep's own session.
        let r = srv.form_as(&rep.token, &format!("/ui/notifications/{id}/read"), &[("csrf", "nope".into())]);
        assert_eq!(r.status, 403, "[{}] no CSRF value", srv.backend);
        assert!(!notifications(srv, &rep, &tag)[0].2);

        // The rep marks it read.
        let mine = srv.csrf_of(&rep.token);
        let r = srv.form_as(&rep.token, &format!("/ui/notifications/{id}/read"), &[("csrf", mine.clone())]);
        assert_eq!(r.status, 303, "[{}] {}", srv.backend, r.text());
        assert_eq!(r.header("location").as_deref(), Some("/ui/notifications?marked=1"));
        assert!(notifications(srv, &rep, &tag)[0].2, "[{}] read", srv.backend);
        assert_eq!(bell(srv, &rep.token), 0, "[{}] nothing unread", srv.backend);
        let html = srv.page_as(&rep.token, "/ui/notifications?marked=1").text();
        assert!(html.contains(&format!("Account assigned to you: {name}")), "a read notification is still listed");
        assert!(!html.contains("data-testid=\"mark-read\""), "[{}] nothing left to mark", srv.backend);

        // High priority is marked; an expired notification is neither
        // counted nor shown.
        let own = |body: serde_json::Value| {
            srv.send(srv.req_as(&rep.token, Method::POST, "/appnotifications").json(&body)).expect(204);
        };
        own(json!({ "title": format!("Urgent {tag}"), "priority": 200000001, "icontype": 100000003 }));
        own(json!({ "title": format!("Gone {tag}"), "ttlinseconds": 1 }));
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_eq!(bell(srv, &rep.token), 1, "[{}] the urgent one only", srv.backend);
        let html = srv.page_as(&rep.token, "/ui/notifications").text();
        assert!(html.contains(&format!("Urgent {tag}")), "[{}]", srv.backend);
        assert!(!html.contains(&format!("Gone {tag}")), "[{}] an expired notification is not shown", srv.backend);
        assert!(html.contains("ntf-warning ntf-high"), "[{}] marked by type and priority", srv.backend);
        assert!(html.contains("data-testid=\"high\""), "[{}] High is visibly marked", srv.backend);
        assert!(
            html.find(&format!("Urgent {tag}")) < html.find(&format!("Account assigned to you: {name}")),
            "[{}] unread first",
            srv.backend
        );

        // Mark all: another assignment and the urgent one, in one go.
        let second = srv.create("accounts", &json!({ "name": format!("Bell two {tag}") }));
        assign(srv, second, rep.id);
        assert_eq!(bell(srv, &rep.token), 2);
        let r = srv.form_as(&rep.token, "/ui/notifications/read-all", &[("csrf", mine)]);
        assert_eq!(r.status, 303, "[{}] {}", srv.backend, r.text());
        assert_eq!(bell(srv, &rep.token), 0, "[{}] all read", srv.backend);
        let html = srv.page_as(&rep.token, r.header("location").as_deref().unwrap()).text();
        assert!(html.contains("data-testid=\"done\""), "[{}] says what was marked", srv.backend);
        assert!(notifications(srv, &rep, &tag).iter().all(|n| n.2), "[{}]", srv.backend);
    });
}

/// The text of the form's field `name` (an input's value or a textarea's text).
fn field(html: &str, name: &str) -> String {
    let at = html.find(&format!("id=\"f-{name}\"")).unwrap_or_else(|| panic!("no field {name}"));
    let rest = &html[at..];
    if rest.starts_with(&format!("id=\"f-{name}\" name=\"{name}\" rows")) {
        let start = rest.find('>').unwrap() + 1;
        let end = rest.find("</textarea>").unwrap();
        // The newline after the start tag is not part of the value.
        return rest[start..end].strip_prefix('\n').unwrap_or(&rest[start..end]).to_string();
    }
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..].split('"').next().unwrap().to_string()
}

#[test]
fn the_email_form_fills_a_template_in_and_starts_with_the_signature() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let post = |set: &str, body: serde_json::Value| {
            let r = srv.send(srv.req_as(&rep.token, Method::POST, &format!("/{set}")).json(&body));
            r.expect(204);
            r.entity_id()
        };
        let contact = post("contacts", json!({ "firstname": "Ada <b>", "lastname": format!("Lovelace & {tag}") }));
        // The organization's templates, made by the administrator.
        let for_contacts = srv.create(
            "templates",
            &json!({
                "title": format!("Intro {tag}"), "templatetypecode": "contact", "languagecode": 1033,
                "subject": "Hello {{ record.firstname }}", "body": "<p>Dear {{ record.fullname }},</p>",
            }),
        );
        let global = srv.create(
            "templates",
            &json!({ "title": format!("Global {tag}"), "subject": "News", "body": "<p>News for {{ user.fullname }}</p>" }),
        );
        let for_accounts = srv.create(
            "templates",
            &json!({ "title": format!("Accounts only {tag}"), "templatetypecode": "account", "subject": "x", "body": "y" }),
        );
        // Another user's personal template is not offered.
        let someone = srv.new_user(&["Salesperson"]);
        let personal = srv.send(srv.req_as(&someone.token, Method::POST, "/templates").json(&json!({
            "title": format!("Personal {tag}"), "templatetypecode": "contact", "ispersonal": true, "subject": "p", "body": "p",
        })));
        personal.expect(204);

        // The rep's default signature, and another that is not the default.
        post("emailsignatures", json!({ "title": "Other", "presentationxml": format!("<p>Not me {tag}</p>") }));
        post(
            "emailsignatures",
            json!({ "title": "Mine", "presentationxml": format!("<p>Best, Rep {tag}</p>"), "isdefault": true }),
        );

        // A fresh email: the signature below an empty line, the chooser
        // with the templates for contacts and the global ones.
        let base = format!("/ui/emails/new?regardingobjectid=contact:{contact}");
        let page = srv.page_as(&rep.token, &base);
        assert_eq!(page.status, 200, "[{}] {}", srv.backend, page.text());
        let html = page.text();
        assert_eq!(
            field(&html, "description"),
            format!("\n&lt;p&gt;Best, Rep {tag}&lt;&#x2f;p&gt;"),
            "[{}] the default signature below an empty line",
            srv.backend
        );
        assert!(html.contains("data-testid=\"template-chooser\""), "[{}] the chooser", srv.backend);
        assert!(html.contains(&format!("<option value=\"{for_contacts}\">Intro {tag}</option>")), "{html}");
        assert!(html.contains(&format!("<option value=\"{global}\">Global {tag}</option>")), "[{}]", srv.backend);
        assert!(!html.contains(&format!("Accounts only {tag}")), "[{}] for another entity", srv.backend);
        assert!(!html.contains(&format!("Personal {tag}")), "[{}] someone's personal template", srv.backend);
        assert!(
            html.contains(&format!("type=\"hidden\" name=\"regardingobjectid\" value=\"contact:{contact}\"")),
            "[{}] the chooser keeps the regarding record",
            srv.backend
        );
        // Without a regarding record only the global templates are offered.
        let plain = srv.page_as(&rep.token, "/ui/emails/new").text();
        assert!(plain.contains(&format!("Global {tag}")) && !plain.contains(&format!("Intro {tag}")));

        // The template applied: subject and body filled in for the contact,
        // its values escaped; no signature.
        let page = srv.page_as(&rep.token, &format!("{base}&template={for_contacts}"));
        assert_eq!(page.status, 200, "[{}] {}", srv.backend, page.text());
        let html = page.text();
        assert_eq!(field(&html, "subject"), "Hello Ada &lt;b&gt;", "[{}]", srv.backend);
        assert_eq!(
            field(&html, "description"),
            format!("&lt;p&gt;Dear Ada &amp;lt;b&amp;gt; Lovelace &amp;amp; {tag},&lt;&#x2f;p&gt;"),
            "[{}] the body, HTML-escaped",
            srv.backend
        );
        assert!(!html.contains(&format!("Best, Rep {tag}")), "[{}] no signature under a template", srv.backend);
        assert!(html.contains(&format!("<option value=\"{for_contacts}\" selected>")), "[{}] chosen", srv.backend);
        assert!(!html.contains("data-testid=\"form-alert\""), "[{}]", srv.backend);

        // Saved as shown, the email keeps its template.
        let csrf = srv.csrf_of(&rep.token);
        let r = srv.form_as(
            &rep.token,
            "/ui/emails/new",
            &[
                ("csrf", csrf),
                ("subject", format!("Hello {tag}")),
                ("description", "<p>Hi</p>".into()),
                ("regardingobjectid", format!("contact:{contact}")),
                ("regardingobjectid__text", "Ada".into()),
                ("templateid", format!("template:{for_contacts}")),
                ("templateid__text", format!("Intro {tag}")),
            ],
        );
        assert_eq!(r.status, 303, "[{}] {}", srv.backend, r.text());

        // Templates the engine refuses: explained on the form, not a 500.
        for (template, why) in [
            (Uuid::new_v4().to_string(), "Does Not Exist"),
            ("not-a-template".to_string(), "No such template."),
            (for_accounts.to_string(), "written for account records"),
        ] {
            let page = srv.page_as(&rep.token, &format!("{base}&template={template}"));
            assert_eq!(page.status, 400, "[{}] {template}: {}", srv.backend, page.text());
            let html = page.text();
            assert!(html.contains("data-testid=\"form-alert\""), "[{}] {template}: a message", srv.backend);
            assert!(html.contains("The template could not be applied"), "[{}] {template}", srv.backend);
            assert!(html.contains(why), "[{}] {template}: {why}\n{html}", srv.backend);
            assert!(html.contains("id=\"f-subject\""), "[{}] the form is still there", srv.backend);
        }
        let ru = srv.page_as(&rep.token, &format!("{base}&template=nope&lang=ru")).text();
        assert!(ru.contains("Не удалось применить шаблон"), "[{}] in Russian", srv.backend);
    });
}

#[test]
fn notifications_in_chromium() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let account = srv.create("accounts", &json!({ "name": format!("Browser bell {tag}") }));
        assign(srv, account, rep.id);
        let contact = srv.send(
            srv.req_as(&rep.token, Method::POST, "/contacts")
                .json(&json!({ "firstname": "Ada", "lastname": format!("{tag} & co") })),
        );
        contact.expect(204);
        let template = srv.create(
            "templates",
            &json!({
                "title": format!("Browser {tag}"), "templatetypecode": "contact",
                "subject": "Hello {{ record.fullname }}", "body": "<p>Dear {{ record.fullname }}</p>",
            }),
        );
        srv.send(srv.req_as(&rep.token, Method::POST, "/emailsignatures").json(&json!({
            "title": "Mine", "presentationxml": format!("<p>Best, Rep {tag}</p>"), "isdefault": true,
        })))
        .expect(204);
        common::run_ui_script(
            srv,
            "notifications.mjs",
            &[
                ("RELATA_TAG", tag.clone()),
                ("RELATA_REP_EMAIL", rep.email.clone()),
                ("RELATA_ACCOUNT_ID", account.to_string()),
                ("RELATA_CONTACT_ID", contact.entity_id().to_string()),
                ("RELATA_TEMPLATE_ID", template.to_string()),
            ],
        );
    });
}

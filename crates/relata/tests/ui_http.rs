//! The web interface at the HTTP level: sessions, CSRF, redirects, what a
//! user may see, and the language. (`ui_browser.rs` drives the same pages
//! in Chromium.)

mod common;

use common::{each_server, uid, Resp, Srv, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::json;

/// The value of a cookie the response sets, if any.
fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn cookie_value(header: &str) -> String {
    header.split(';').next().unwrap_or("").split_once('=').map(|(_, v)| v.to_string()).unwrap_or_default()
}

/// A hidden `csrf` input's value in a page.
fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("the page has a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

fn page(srv: &Srv, path: &str, cookies: &str) -> Resp {
    srv.send(srv.raw(Method::GET, &format!("{}{path}", srv.base_url)).header("Cookie", cookies))
}

/// Signs in through the form; returns the session cookie pair.
fn sign_in(srv: &Srv, email: &str, password: &str, remember: bool) -> (Resp, Option<String>) {
    let form = page(srv, "/signin", "");
    form.expect(200);
    let pre = cookie_value(&set_cookie(&form, "relata_csrf").expect("a sign-in csrf cookie"));
    let csrf = csrf_in(&form.text());
    let mut body = vec![("csrf", csrf.as_str()), ("email", email), ("password", password)];
    if remember {
        body.push(("remember", "1"));
    }
    let r = srv.send(
        srv.raw(Method::POST, &format!("{}/signin?next=%2Fui%2Faccounts", srv.base_url))
            .header("Cookie", format!("relata_csrf={pre}"))
            .form(&body),
    );
    let session = set_cookie(&r, "relata_session");
    (r, session)
}

#[test]
fn sign_in_sessions_and_csrf() {
    each_server(|srv| {
        // Without a session every page leads to the sign-in form.
        let r = page(srv, "/ui/accounts?q=x", "");
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location").unwrap(), "/signin?next=%2Fui%2Faccounts%3Fq%3Dx");

        // Wrong password: the form again, with an alert and no session.
        let (r, session) = sign_in(srv, ADMIN_EMAIL, "wrong password", false);
        assert_eq!(r.status, 401);
        assert!(r.text().contains("role=\"alert\""), "{}", r.text());
        assert!(session.is_none());

        // A sign-in whose csrf does not match its cookie is refused.
        let r =
            srv.send(
                srv.raw(Method::POST, &format!("{}/signin", srv.base_url))
                    .header("Cookie", "relata_csrf=aaaa")
                    .form(&[("csrf", "bbbb"), ("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]),
            );
        assert_eq!(r.status, 403);
        assert!(set_cookie(&r, "relata_session").is_none());

        // Right password: back to where the user was going, with an HttpOnly cookie.
        let (r, session) = sign_in(srv, ADMIN_EMAIL, ADMIN_PASSWORD, false);
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(r.header("location").unwrap(), "/ui/accounts");
        let session = session.expect("a session cookie");
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
        assert!(!session.contains("Max-Age"), "without remember me it lasts the browser session: {session}");
        let cookies = format!("relata_session={}", cookie_value(&session));

        let home = page(srv, "/", &cookies);
        home.expect(200);
        let html = home.text();
        assert!(html.contains("data-area=\"sales\"") && html.contains("data-entity=\"account\""));
        assert!(home.header("server-timing").is_some_and(|t| t.starts_with("app;dur=")));

        // Signing out needs the page's csrf value; without it nothing happens.
        let r = srv.send(
            srv.raw(Method::POST, &format!("{}/signout", srv.base_url))
                .header("Cookie", &cookies)
                .form(&[("csrf", "nope")]),
        );
        assert_eq!(r.status, 403);
        page(srv, "/", &cookies).expect(200);
        let csrf = csrf_in(&html);
        let r = srv.send(
            srv.raw(Method::POST, &format!("{}/signout", srv.base_url))
                .header("Cookie", &cookies)
                .form(&[("csrf", &csrf)]),
        );
        assert_eq!(r.status, 303);
        assert_eq!(page(srv, "/", &cookies).status, 303, "the session token is revoked");

        // Remember me: a persistent cookie; a foreign `next` is ignored.
        let (_, session) = sign_in(srv, ADMIN_EMAIL, ADMIN_PASSWORD, true);
        assert!(session.unwrap().contains("Max-Age=2592000"));
        let form = page(srv, "/signin", "");
        let pre = cookie_value(&set_cookie(&form, "relata_csrf").unwrap());
        let r = srv.send(
            srv.raw(Method::POST, &format!("{}/signin?next=%2F%2Fevil.example", srv.base_url))
                .header("Cookie", format!("relata_csrf={pre}"))
                .form(&[
                    ("csrf", csrf_in(&form.text()).as_str()),
                    ("email", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                ]),
        );
        assert_eq!(r.header("location").unwrap(), "/");
    });
}

#[test]
fn lists_records_and_search_follow_the_security_model() {
    each_server(|srv| {
        let tag = uid();
        let mine =
            srv.create("accounts", &json!({ "name": format!("UI <b>bold</b> & co {tag}"), "telephone1": "555 0100" }));
        let user = srv.new_user(&["Salesperson"]);
        let (_, admin) = sign_in(srv, ADMIN_EMAIL, ADMIN_PASSWORD, false);
        let admin = format!("relata_session={}", cookie_value(&admin.unwrap()));

        // The admin finds the account by quick find; names are escaped.
        let r = page(srv, &format!("/ui/accounts?q={tag}"), &admin);
        r.expect(200);
        let html = r.text();
        assert!(html.contains(&format!("data-id=\"{mine}\"")), "{html}");
        assert!(
            html.contains("UI &lt;b&gt;bold&lt;&#x2f;b&gt; &amp; co")
                || html.contains("UI &lt;b&gt;bold&lt;/b&gt; &amp; co")
        );
        assert!(!html.contains("<b>bold</b>"));
        let record = page(srv, &format!("/ui/accounts/{mine}"), &admin);
        record.expect(200);
        assert!(record.text().contains("555 0100"));
        let search = page(srv, &format!("/ui/search?q={tag}"), &admin);
        assert!(search.text().contains(&format!("/ui/accounts/{mine}")));

        // A Salesperson signs in with the password the CLI gave them: they
        // do not see the admin's account, cannot open it, and have no roles list.
        let (_, theirs) = sign_in(srv, &user.email, "User-Passw0rd!", false);
        let theirs = format!("relata_session={}", cookie_value(&theirs.expect("the salesperson signs in")));
        let r = page(srv, &format!("/ui/accounts?q={tag}"), &theirs);
        r.expect(200);
        assert!(!r.text().contains(&mine.to_string()));
        assert!(r.text().contains("data-testid=\"empty\""));
        assert_eq!(page(srv, &format!("/ui/accounts/{mine}"), &theirs).status, 404);
        assert_eq!(page(srv, "/ui/audits", &theirs).status, 403);
        assert!(!page(srv, "/", &theirs).text().contains("data-entity=\"audit\""));
        assert!(page(srv, "/", &admin).text().contains("data-entity=\"audit\""));
        assert!(!page(srv, &format!("/ui/search?q={tag}"), &theirs).text().contains(&mine.to_string()));

        // Paging: 50 rows, then the rest, and back.
        for i in 0..55 {
            srv.create("accounts", &json!({ "name": format!("Paged {tag} {i:02}") }));
        }
        let first = page(srv, &format!("/ui/accounts?q=Paged%20{tag}"), &admin).text();
        assert_eq!(first.matches("<tr data-id=").count(), 50);
        let next = first.split("rel=\"next\" href=\"").nth(1).expect("a next link").split('"').next().unwrap();
        let next = next.replace("&#x2f;", "/").replace("&amp;", "&");
        let second = page(srv, &next, &admin).text();
        assert_eq!(second.matches("<tr data-id=").count(), 5, "{next}");
        assert!(second.contains(&format!("Paged {tag} 54")) && !second.contains(&format!("Paged {tag} 49<")));
        assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));

        // Unknown lists and malformed ids are errors, not crashes.
        assert_eq!(page(srv, "/ui/nosuchentities", &admin).status, 404);
        assert_eq!(page(srv, "/ui/accounts/not-a-guid", &admin).status, 404);
    });
}

#[test]
fn russian_interface() {
    each_server(|srv| {
        let (_, s) = sign_in(srv, ADMIN_EMAIL, ADMIN_PASSWORD, false);
        let cookies = format!("relata_session={}", cookie_value(&s.unwrap()));
        let r = page(srv, "/ui/accounts?lang=ru", &cookies);
        r.expect(200);
        assert!(r.text().contains("<html lang=\"ru\">"));
        assert!(r.text().contains("<h1>Организации</h1>"));
        let lang = set_cookie(&r, "relata_lang").expect("the choice is kept");
        assert!(lang.starts_with("relata_lang=ru"));
        // The browser's language applies when nothing was chosen.
        let form = srv.send(
            srv.raw(Method::GET, &format!("{}/signin", srv.base_url)).header("Accept-Language", "ru-RU,ru;q=0.9"),
        );
        assert!(form.text().contains("Войти"));
    });
}

/// The field value a form page shows for `name`.
fn input_value(html: &str, name: &str) -> Option<String> {
    html.match_indices(&format!("name=\"{name}\"")).find_map(|(at, _)| {
        let tag = &html[at..at + html[at..].find('>')?];
        let v = tag.find("value=\"")? + 7;
        Some(tag[v..].split('"').next().unwrap().to_string())
    })
}

#[test]
fn record_forms_create_edit_and_explain_conflicts() {
    each_server(|srv| {
        let tag = uid();
        let (_, s) = sign_in(srv, ADMIN_EMAIL, ADMIN_PASSWORD, false);
        let cookies = format!("relata_session={}", cookie_value(&s.unwrap()));
        let post = |path: &str, form: &[(&str, &str)]| {
            srv.send(srv.raw(Method::POST, &format!("{}{path}", srv.base_url)).header("Cookie", &cookies).form(form))
        };

        // Create through the form.
        let new = page(srv, "/ui/accounts/new", &cookies);
        new.expect(200);
        let csrf = csrf_in(&new.text());
        let name = format!("Form {tag}");
        let r = post(
            "/ui/accounts/new",
            &[
                ("csrf", &csrf),
                ("name", &name),
                ("telephone1", "555 0199"),
                ("revenue", "1 250,50"),
                ("creditonhold", ""),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let url = r.header("location").unwrap();
        let id: uuid::Uuid = url.rsplit('/').next().unwrap().parse().unwrap();
        let stored = srv.retrieve("accounts", id, "$select=name,telephone1,revenue,creditonhold");
        assert_eq!(stored["name"], json!(name));
        assert_eq!(common::dec(&stored["revenue"]), common::d("1250.50"));
        assert_eq!(stored["creditonhold"], json!(false));

        // The record page offers Edit; the form shows the stored values.
        assert!(page(srv, &url, &cookies).text().contains("data-testid=\"edit\""));
        let form = page(srv, &format!("{url}/edit"), &cookies);
        form.expect(200);
        let html = form.text();
        assert_eq!(input_value(&html, "telephone1").as_deref(), Some("555 0199"));
        let version = input_value(&html, "_version").expect("the version the form was opened at");

        // A value that is not a number is shown at its field; nothing is written.
        let r = post(
            &format!("{url}/edit"),
            &[("csrf", &csrf), ("_version", &version), ("name", &name), ("revenue", "lots")],
        );
        assert_eq!(r.status, 400);
        assert!(r.text().contains("id=\"e-revenue\""), "{}", r.text());
        assert!(r.text().contains("aria-invalid=\"true\""));

        // A save changes only what changed.
        let r = post(
            &format!("{url}/edit"),
            &[
                ("csrf", &csrf),
                ("_version", &version),
                ("name", &name),
                ("telephone1", "555 0200"),
                ("revenue", "1250.5"),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(srv.retrieve("accounts", id, "$select=telephone1")["telephone1"], json!("555 0200"));

        // Saving from the stale form explains the conflict and keeps what the other user wrote.
        let r = post(
            &format!("{url}/edit"),
            &[("csrf", &csrf), ("_version", &version), ("name", &name), ("telephone1", "555 0300")],
        );
        assert_eq!(r.status, 409);
        assert!(r.text().contains("data-testid=\"form-alert\""));
        assert_eq!(input_value(&r.text(), "telephone1").as_deref(), Some("555 0300"), "the user's input is kept");
        assert_eq!(srv.retrieve("accounts", id, "$select=telephone1")["telephone1"], json!("555 0200"));

        // A refusal of the engine is shown on the form and rolls back.
        let r = post(&format!("{url}/edit"), &[("csrf", &csrf), ("name", &name), ("numberofemployees", "-5")]);
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("role=\"alert\""));

        // Without the CSRF value nothing is saved.
        let r = post(&format!("{url}/edit"), &[("name", "hijacked")]);
        assert_eq!(r.status, 403);
        assert_eq!(srv.retrieve("accounts", id, "$select=name")["name"], json!(name));
    });
}

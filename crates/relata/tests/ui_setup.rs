//! The first run in the browser, on a fresh database of each backend:
//! `relata serve` prints a one-time setup link; the sign-in page leads to
//! the setup page; bad input is explained with the values kept; the setup
//! names the organization, sets its base currency and language, creates
//! the administrator and signs them in; the link then works no more. The
//! base currency can change on the organization's page until money is
//! recorded.

mod common;

use common::{backends, new_store, setup_token, start_server, Resp};
use reqwest::blocking::Client;
use reqwest::Method;

struct Fresh {
    base: String,
    client: Client,
    _guard: (std::process::Child, std::process::ChildStdin),
}

impl Fresh {
    fn send(&self, method: Method, path: &str, cookie: Option<&str>, form: Option<&[(&str, &str)]>) -> Resp {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(c) = cookie {
            rb = rb.header("Cookie", format!("relata_session={c}"));
        }
        if let Some(f) = form {
            rb = rb.form(f);
        }
        let r = rb.send().expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().expect("body").to_vec();
        Resp { status, headers, body, what: path.to_string() }
    }
}

fn cookie_of(r: &Resp) -> String {
    let c = r.header("set-cookie").expect("a session cookie");
    c.trim_start_matches("relata_session=").split(';').next().unwrap().to_string()
}

#[test]
fn first_run_setup_in_the_browser() {
    let mut failed = Vec::new();
    for backend in backends() {
        let ok = std::panic::catch_unwind(|| run(backend)).is_ok();
        if !ok {
            failed.push(backend);
        }
    }
    assert!(failed.is_empty(), "failed on: {}", failed.join(", "));
}

fn run(backend: &'static str) {
    let store = new_store(backend);
    let (base, child, stdin) = start_server(&store);
    let srv = Fresh {
        base,
        client: Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        _guard: (child, stdin),
    };
    let token = setup_token(&store);

    // Nobody can sign in: the sign-in page leads to setup.
    let r = srv.send(Method::GET, "/signin", None, None);
    assert_eq!((r.status, r.header("location").as_deref()), (303, Some("/setup")));
    let r = srv.send(Method::GET, "/setup", None, None);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("name=\"token\"") && !r.text().contains("name=\"organization\""));
    let r = srv.send(Method::GET, "/setup?token=rlt_wrong", None, None);
    assert_eq!(r.status, 403);
    let r = srv.send(Method::GET, &format!("/setup?token={token}"), None, None);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("name=\"organization\""));

    let form = |org: &'static str, email: &'static str, p1: &'static str, p2: &'static str, zone: &'static str| {
        vec![
            ("token", token.clone()),
            ("organization", org.to_string()),
            ("currency", "RUB".to_string()),
            ("language", "1049".to_string()),
            ("zone", zone.to_string()),
            ("firstname", "Анна".to_string()),
            ("lastname", "Иванова".to_string()),
            ("email", email.to_string()),
            ("password", p1.to_string()),
            ("password2", p2.to_string()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        srv.send(Method::POST, "/setup", None, Some(&pairs))
    };
    // Refusals name the problem and keep what was typed.
    let r = post(form("ООО Ромашка", "anna@example.com", "long-enough-1", "long-enough-2", "Europe/Moscow"));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Пароли не совпадают") && r.text().contains("ООО Ромашка"));
    let r = post(form("ООО Ромашка", "not-an-email", "long-enough-1", "long-enough-1", "Europe/Moscow"));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("not-an-email"), "{}", r.text());
    let r = post(form("ООО Ромашка", "anna@example.com", "short", "short", "Europe/Moscow"));
    assert_eq!(r.status, 400);
    let r = post(form("ООО Ромашка", "anna@example.com", "long-enough-1", "long-enough-1", "Mars/Olympus"));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Mars&#x2f;Olympus"), "the message names the zone");
    let r = post(form("", "anna@example.com", "long-enough-1", "long-enough-1", "Europe/Moscow"));
    assert_eq!(r.status, 400);

    // The setup: organization, currency, language, administrator, signed in.
    let r = post(form("ООО Ромашка", "anna@example.com", "long-enough-1", "long-enough-1", "Europe/Moscow"));
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some("/ui/settings/organization"));
    let session = cookie_of(&r);
    let api = |path: &str| {
        let r =
            srv.client.get(format!("{}/api/data/v9.2{path}", srv.base)).bearer_auth(&session).send().expect("request");
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.json::<serde_json::Value>().unwrap()
    };
    let org = &api("/organizations?$select=name,languagecode,_basecurrencyid_value")["value"][0];
    assert_eq!(org["name"], "ООО Ромашка");
    assert_eq!(org["languagecode"], 1049);
    let currency = api(&format!(
        "/transactioncurrencies({})?$select=isocurrencycode,currencysymbol",
        org["_basecurrencyid_value"].as_str().unwrap()
    ));
    assert_eq!(currency["isocurrencycode"], "RUB");
    let who = api("/WhoAmI");
    let me = api(&format!("/systemusers({})?$select=fullname,internalemailaddress", who["UserId"].as_str().unwrap()));
    assert_eq!(me["internalemailaddress"], "anna@example.com");
    let roles =
        api(&format!("/systemusers({})/systemuserroles_association?$select=name", who["UserId"].as_str().unwrap()));
    assert!(roles["value"].as_array().unwrap().iter().any(|r| r["name"] == "System Administrator"));
    // The catalog defaults speak Russian; the pages too, in Moscow time.
    let units = api("/uoms?$select=name");
    assert!(units["value"].as_array().unwrap().iter().any(|u| u["name"] == "шт"));
    let page = srv.send(Method::GET, "/", Some(&session), None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("lang=\"ru\""));

    // Used once: the link and the page are gone, sign-in is back.
    let r = post(form("Другая", "other@example.com", "long-enough-1", "long-enough-1", "UTC"));
    assert_eq!(r.status, 403);
    assert_eq!(
        api("/systemusers?$select=fullname&$filter=internalemailaddress eq 'other@example.com'")["value"],
        serde_json::json!([])
    );
    let r = srv.send(Method::GET, &format!("/setup?token={token}"), None, None);
    assert_eq!((r.status, r.header("location").as_deref()), (303, Some("/signin")));
    assert_eq!(srv.send(Method::GET, "/signin", None, None).status, 200);

    // The base currency changes on the organization's page while no money
    // is recorded, and is fixed after.
    let page = srv.send(Method::GET, "/ui/settings/organization", Some(&session), None);
    let org_page = page.header("location").expect("the organization's page");
    // The organization's form has its requisites and fiscal year.
    let form = srv.send(Method::GET, &format!("{org_page}/edit"), Some(&session), None).text();
    for f in [
        "f-name",
        "f-relata_inn",
        "f-relata_kpp",
        "f-relata_ogrn",
        "f-relata_bankaccount",
        "f-fiscalcalendarstart",
        "f-relata_defaultpricelevelid",
    ] {
        assert!(form.contains(&format!("id=\"{f}\"")), "the organization's form has {f}");
    }

    let html = srv.send(Method::GET, &org_page, Some(&session), None).text();
    assert!(html.contains("data-action=\"base_currency\"") || html.contains("/act/base_currency"));
    let csrf = {
        let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
        html[at..].split('"').next().unwrap().to_string()
    };
    let act = format!("{org_page}/act/base_currency");
    let r = srv.send(Method::POST, &act, Some(&session), Some(&[("csrf", &csrf), ("currency", "EUR")]));
    assert_eq!(r.status, 303, "{}", r.text());
    let code = api(&format!(
        "/transactioncurrencies({})?$select=isocurrencycode",
        org["_basecurrencyid_value"].as_str().unwrap()
    ));
    assert_eq!(code["isocurrencycode"], "EUR");
    let created = srv
        .client
        .post(format!("{}/api/data/v9.2/products", srv.base))
        .bearer_auth(&session)
        .json(&serde_json::json!({ "name": "Priced", "productnumber": "P-1", "price": 10 }))
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 204);
    let html = srv.send(Method::GET, &org_page, Some(&session), None).text();
    assert!(!html.contains("/act/base_currency"), "no currency change once money is recorded");
    let r = srv.send(Method::POST, &act, Some(&session), Some(&[("csrf", &csrf), ("currency", "USD")]));
    assert!(r.status >= 400 || r.header("location").is_some_and(|l| l.contains("problem")), "{}", r.status);
    let code = api(&format!(
        "/transactioncurrencies({})?$select=isocurrencycode",
        org["_basecurrencyid_value"].as_str().unwrap()
    ));
    assert_eq!(code["isocurrencycode"], "EUR");

    // The logo: uploaded on its page, refused when it is not an image,
    // printed on quotes, and removed.
    let upload = |parts: &[(&str, Option<&str>, &[u8])]| {
        let boundary = "----relatalogo";
        let mut body = Vec::new();
        for (name, file, bytes) in parts {
            body.extend(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some(f) => body.extend(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
                ),
                None => body.extend(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            body.extend(*bytes);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").as_bytes());
        let r = srv
            .client
            .post(format!("{}/ui/settings/organization/logo", srv.base))
            .header("Cookie", format!("relata_session={session}"))
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().unwrap_or_default())
    };
    let png = base64_decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==",
    );
    let (status, text) = upload(&[("csrf", None, csrf.as_bytes()), ("file", Some("logo.gif"), b"GIF89a, not taken")]);
    assert_eq!(status, 400);
    // The organization was set up in Russian: the refusal says so in Russian.
    assert!(text.contains("Файл не является изображением PNG или JPEG."), "{text}");
    let (status, _) = upload(&[("csrf", None, csrf.as_bytes()), ("file", Some("logo.png"), &png)]);
    assert_eq!(status, 303);
    let image = srv.send(Method::GET, "/ui/settings/organization/logo/image", Some(&session), None);
    assert_eq!((image.status, image.body.clone()), (200, png.clone()));
    let post = |path: &str, body: serde_json::Value| {
        srv.client
            .post(format!("{}/api/data/v9.2{path}", srv.base))
            .bearer_auth(&session)
            .header("Prefer", "return=representation")
            .json(&body)
            .send()
            .unwrap()
            .json::<serde_json::Value>()
            .unwrap()
    };
    let pdf_images = || {
        let account = post("/accounts", serde_json::json!({ "name": "Logo customer" }));
        let customer = format!("/accounts({})", account["accountid"].as_str().unwrap());
        let quote =
            post("/quotes", serde_json::json!({ "name": "Logo quote", "customerid_account@odata.bind": customer }));
        let records = format!("[\"{}\"]", quote["quoteid"].as_str().unwrap());
        let pdf = post("/ExportPdfDocument", serde_json::json!({ "EntityTypeCode": 1084, "SelectedRecords": records }));
        let bytes = base64_decode(pdf["PdfFile"].as_str().expect("a PDF"));
        let doc = lopdf::Document::load_mem(&bytes).expect("the PDF parses");
        doc.objects
            .values()
            .filter(|o| {
                o.as_stream().ok().and_then(|s| s.dict.get(b"Subtype").ok()).and_then(|t| t.as_name().ok())
                    == Some(b"Image".as_slice())
            })
            .count()
    };
    assert_eq!(pdf_images(), 1, "the quote prints the logo");
    let (status, _) = upload(&[("csrf", None, csrf.as_bytes()), ("remove", None, b"1")]);
    assert_eq!(status, 303);
    assert_eq!(pdf_images(), 0, "no logo, no image");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

/// A configuration naming another organization or currency than the
/// database's is pointed out at start-up, with where to change them.
#[test]
fn configuration_that_differs_from_the_database_is_reported() {
    let mut failed = Vec::new();
    for backend in backends() {
        let ok = std::panic::catch_unwind(|| {
            let store = new_store(backend);
            let _first = start_server(&store);
            let _second = common::start_server_env(
                &store,
                &[("RELATA_ORGANIZATION_NAME", "Configured Name"), ("RELATA_BASE_CURRENCY", "EUR")],
            );
            let log = std::fs::read_to_string(common::server_log(&store)).unwrap_or_default();
            assert!(
                log.contains("organization_name in the configuration differs")
                    && log.contains("Settings → Organization"),
                "{log}"
            );
            assert!(log.contains("base_currency in the configuration differs"), "{log}");
        })
        .is_ok();
        if !ok {
            failed.push(backend);
        }
    }
    assert!(failed.is_empty(), "failed on: {}", failed.join(", "));
}

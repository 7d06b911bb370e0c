//! Personal settings (language, formats, time zone) and the calendar in
//! the web interface: times shown and entered in the user's zone, creating
//! and moving appointments, and what a user may not do. `calendar.mjs`
//! drives the same screens in Chromium.

mod common;

use common::{each_server, uid, Srv};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// The calendar day section of a page, by date.
fn day<'a>(html: &'a str, date: &str) -> &'a str {
    let at = html.find(&format!("data-date=\"{date}\"")).unwrap_or_else(|| panic!("no day {date}: {html}"));
    let end = html[at..].find("</section>").map(|e| at + e).unwrap_or(html.len());
    &html[at..end]
}

fn appointment_times(srv: &Srv, id: Uuid) -> (String, String) {
    let a = srv.retrieve("appointments", id, "$select=scheduledstart,scheduledend");
    (a["scheduledstart"].as_str().unwrap().to_string(), a["scheduledend"].as_str().unwrap().to_string())
}

#[test]
fn settings_zone_and_calendar() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let csrf = srv.csrf_of(&rep.token);

        // An appointment at 00:30 UTC shows at 00:30 until the rep picks a zone.
        let r = srv.send(srv.req_as(&rep.token, Method::POST, "/appointments").json(&json!({
            "subject": format!("Kickoff {tag}"),
            "scheduledstart": "2026-03-02T00:30:00Z", "scheduledend": "2026-03-02T01:30:00Z",
        })));
        r.expect(204);
        let kickoff = r.entity_id();
        let html = srv.page_as(&rep.token, "/ui/calendar?view=week&date=2026-03-02").text();
        assert!(day(&html, "2026-03-02").contains("00:30"), "{}", day(&html, "2026-03-02"));

        // A zone that does not exist: a message, nothing saved.
        let r = srv.form_as(&rep.token, "/ui/preferences", &[("csrf", csrf.clone()), ("zone", "Mars/Olympus".into())]);
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("Olympus”"), "{}", r.text());
        assert_eq!(srv.get(&format!("/usersettingscollection({})", rep.id)).status, 404);
        // Tokyo and Russian.
        let r = srv.form_as(
            &rep.token,
            "/ui/preferences",
            &[
                ("csrf", csrf.clone()),
                ("zone", "Asia/Tokyo".into()),
                ("language", "1049".into()),
                ("locale", "".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let saved = srv.retrieve("usersettingscollection", rep.id, "$select=uilanguageid,relata_timezone");
        assert_eq!(saved["relata_timezone"], "Asia/Tokyo");
        assert_eq!(saved["uilanguageid"], 1049);
        // The interface follows the setting without ?lang, and times are Tokyo's.
        let html = srv.page_as(&rep.token, "/ui/calendar?view=week&date=2026-03-02").text();
        assert!(html.contains("<html lang=\"ru\">"), "the saved language applies");
        assert!(day(&html, "2026-03-02").contains("09:30"), "{}", day(&html, "2026-03-02"));
        let html = srv.page_as(&rep.token, "/ui/calendar?view=month&date=2026-03-15").text();
        assert!(day(&html, "2026-03-02").contains(&format!("Kickoff {tag}")));
        let html = srv.page_as(&rep.token, "/ui/calendar?view=day&date=2026-03-02").text();
        assert!(html.contains(&format!("Kickoff {tag}")));
        // Another user's settings are untouched.
        let other = srv.new_user(&["Salesperson"]);
        assert_eq!(srv.get(&format!("/usersettingscollection({})", other.id)).status, 404);
        assert!(srv.page_as(&other.token, "/").text().contains("<html lang=\"en\">"));

        // A new appointment: times typed in Tokyo are stored in UTC.
        let r = srv.form_as(
            &rep.token,
            "/ui/calendar/new",
            &[
                ("csrf", csrf.clone()),
                ("subject", format!("Demo {tag}")),
                ("start", "2026-03-03T10:00".into()),
                ("end", "2026-03-03T11:00".into()),
                ("location", "Office".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let made = srv
            .get(&format!("/appointments?$select=scheduledstart,scheduledend&$filter=subject eq 'Demo {tag}'"))
            .rows();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0]["scheduledstart"], "2026-03-03T01:00:00Z");
        assert_eq!(made[0]["scheduledend"], "2026-03-03T02:00:00Z");
        // An end before the start, or no subject: refused with a message, nothing made.
        for form in [
            vec![
                ("subject", format!("Bad {tag}")),
                ("start", "2026-03-03T10:00".into()),
                ("end", "2026-03-03T09:00".into()),
            ],
            vec![("subject", String::new()), ("start", "2026-03-03T10:00".into()), ("end", "2026-03-03T11:00".into())],
        ] {
            let mut form = form;
            form.push(("csrf", csrf.clone()));
            let r = srv.form_as(&rep.token, "/ui/calendar/new", &form);
            assert_eq!(r.status, 400, "{}", r.text());
            assert!(r.text().contains("role=\"alert\""));
        }
        assert_eq!(srv.get(&format!("/appointments?$filter=subject eq 'Bad {tag}'")).rows().len(), 0);

        // Moving to another day keeps the local time and the duration.
        let version = srv.retrieve("appointments", kickoff, "$select=subject")["@odata.etag"]
            .as_str()
            .unwrap()
            .trim_start_matches("W/\"")
            .trim_end_matches('"')
            .to_string();
        let mv = |token: &str, csrf: &str, extra: Vec<(&str, String)>| {
            let mut form = vec![("csrf", csrf.to_string()), ("id", kickoff.to_string())];
            form.extend(extra);
            srv.form_json_as(token, "/ui/calendar/move", &form)
        };
        let r = mv(&rep.token, &csrf, vec![("date", "2026-03-05".into()), ("version", version.clone())]);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(appointment_times(srv, kickoff), ("2026-03-05T00:30:00Z".into(), "2026-03-05T01:30:00Z".into()));
        // The same stale version again: a conflict, explained, nothing changed.
        let r = mv(&rep.token, &csrf, vec![("date", "2026-03-06".into()), ("version", version)]);
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(
            r.json()["message"].as_str().unwrap().contains("meanwhile")
                || r.json()["message"].as_str().unwrap().contains("изменили")
        );
        assert_eq!(appointment_times(srv, kickoff).0, "2026-03-05T00:30:00Z");
        // Another user cannot move it; nor can a request without the CSRF value.
        let r = mv(&other.token, &srv.csrf_of(&other.token), vec![("date", "2026-03-07".into())]);
        assert!(r.status == 403 || r.status == 404, "{} {}", r.status, r.text());
        let r = srv.form_json_as(
            &rep.token,
            "/ui/calendar/move",
            &[("id", kickoff.to_string()), ("date", "2026-03-07".into())],
        );
        assert_eq!(r.status, 403);
        assert_eq!(appointment_times(srv, kickoff).0, "2026-03-05T00:30:00Z");
        // A completed appointment is read-only: no move controls, and a
        // forged move is refused by the engine with its message.
        srv.send(
            srv.req_as(&rep.token, Method::PATCH, &format!("/appointments({kickoff})"))
                .json(&json!({ "statecode": 1, "statuscode": 3 })),
        )
        .expect(204);
        let html = srv.page_as(&rep.token, "/ui/calendar?view=week&date=2026-03-02").text();
        assert!(!html.contains(&format!("id=\"mv-{kickoff}\"")), "no move form for a closed appointment");
        let r = mv(&rep.token, &csrf, vec![("date", "2026-03-06".into())]);
        assert_eq!(r.status, 400, "{}", r.text());
        // In the rep's language (Russian, chosen above).
        assert!(r.json()["message"].as_str().unwrap().contains("Действие закрыто"), "{}", r.text());
        assert_eq!(appointment_times(srv, kickoff).0, "2026-03-05T00:30:00Z");
        // English chosen explicitly wins over a Russian browser; no choice
        // leaves it to the browser.
        let russian_browser = |token: &str| {
            srv.send(
                srv.raw(Method::GET, &format!("{}/", srv.base_url))
                    .header("Cookie", format!("relata_session={token}"))
                    .header("Accept-Language", "ru-RU,ru;q=0.9"),
            )
            .text()
        };
        assert!(russian_browser(&other.token).contains("<html lang=\"ru\">"));
        let r = srv.form_as(&rep.token, "/ui/preferences", &[("csrf", csrf.clone()), ("language", "1033".into())]);
        assert_eq!(r.status, 303);
        assert!(russian_browser(&rep.token).contains("<html lang=\"en\">"));
        // The other user's calendar does not show the rep's appointments.
        let html = srv.page_as(&other.token, "/ui/calendar?view=month&date=2026-03-15").text();
        assert!(!html.contains(&format!("Kickoff {tag}")));
    });
}

#[test]
fn calendar_and_settings_in_chromium() {
    each_server(|srv| {
        let tag = uid();
        let rep = srv.new_user(&["Salesperson"]);
        let r = srv.send(srv.req_as(&rep.token, Method::POST, "/appointments").json(&json!({
            "subject": format!("Drag me {tag}"),
            "scheduledstart": "2026-03-02T09:00:00Z", "scheduledend": "2026-03-02T10:00:00Z",
        })));
        r.expect(204);
        let id = r.entity_id();
        common::run_ui_script(
            srv,
            "calendar.mjs",
            &[
                ("RELATA_TAG", tag.clone()),
                ("RELATA_REP_EMAIL", rep.email.clone()),
                ("RELATA_REP_TOKEN", rep.token.clone()),
                ("RELATA_APPOINTMENT_ID", id.to_string()),
            ],
        );
    });
}

//! Users in the browser: an administrator sets a password, unlocks a
//! locked-out user, disables and enables them; every user changes their
//! own password given the current one; a user's status reads Enabled or
//! Disabled; what a Salesperson may not do is refused.

mod common;

use common::{each_server, Srv, USER_PASSWORD};
use reqwest::Method;

/// Signs in through the sign-in form; the status of its POST (303 when
/// signed in).
fn sign_in(srv: &Srv, email: &str, password: &str) -> u16 {
    session(srv, email, password).0
}

/// Signs in; the POST's status and the session cookie's token.
fn session(srv: &Srv, email: &str, password: &str) -> (u16, String) {
    let page = srv.send(srv.raw(Method::GET, &format!("{}/signin", srv.base_url)));
    let cookie = page.header("set-cookie").expect("a sign-in csrf cookie");
    let csrf_cookie = cookie.split(';').next().unwrap().to_string();
    let html = page.text();
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    let csrf = html[at..].split('"').next().unwrap().to_string();
    let r = srv.send(srv.raw(Method::POST, &format!("{}/signin", srv.base_url)).header("Cookie", csrf_cookie).form(&[
        ("csrf", csrf.as_str()),
        ("email", email),
        ("password", password),
    ]));
    let token = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("relata_session="))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .unwrap_or_default();
    (r.status, token)
}

#[test]
fn administrators_manage_users_and_users_their_own_password() {
    each_server(|srv| {
        let admin = &srv.token;
        let rep = srv.new_user(&["Salesperson"]);
        let csrf = srv.csrf_of(admin);
        let page = format!("/ui/systemusers/{}", rep.id);
        let html = srv.page_as(admin, &page).text();
        assert!(html.contains("Enabled"), "the status reads Enabled");
        for action in ["set_password", "unlock", "disable"] {
            assert!(html.contains(&format!("/act/{action}")), "the administrator is offered {action}");
        }

        // A new password, twice the same and long enough.
        let act = |action: &str, form: &[(&str, String)]| {
            let mut f = vec![("csrf", csrf.clone())];
            f.extend(form.iter().cloned());
            srv.form_as(admin, &format!("{page}/act/{action}"), &f)
        };
        let r = act("set_password", &[("password", "Another-1".into()), ("password2", "Another-2".into())]);
        assert!(
            r.status == 400
                || r.text().contains("differ")
                || r.header("location").is_some_and(|l| l.contains("problem"))
        );
        assert_eq!(sign_in(srv, &rep.email, "Another-1"), 401, "a refused new password is not set");
        let (_, browser) = session(srv, &rep.email, USER_PASSWORD);
        assert_eq!(srv.page_as(&browser, "/ui/accounts").status, 200);
        let r = act("set_password", &[("password", "New-Passw0rd".into()), ("password2", "New-Passw0rd".into())]);
        assert_eq!(r.status, 303, "{}", r.text());
        assert_ne!(srv.page_as(&browser, "/ui/accounts").status, 200, "a reset signs the user's browsers out");
        assert_eq!(sign_in(srv, &rep.email, USER_PASSWORD), 401, "the old password no longer works");
        assert_eq!(sign_in(srv, &rep.email, "New-Passw0rd"), 303);

        // Five wrong passwords lock the account; unlocking lets the right one in.
        for _ in 0..6 {
            sign_in(srv, &rep.email, "wrong-password");
        }
        assert_ne!(sign_in(srv, &rep.email, "New-Passw0rd"), 303, "locked out");
        assert_eq!(act("unlock", &[]).status, 303);
        assert_eq!(sign_in(srv, &rep.email, "New-Passw0rd"), 303, "unlocked");

        // Disabled: the user's session stops working; enabled again, it works.
        assert_eq!(act("disable", &[]).status, 303);
        assert!(srv.page_as(admin, &page).text().contains("Disabled"));
        assert_ne!(srv.page_as(&rep.token, "/ui/accounts").status, 200);
        assert_eq!(act("enable", &[]).status, 303);
        assert_eq!(srv.page_as(&rep.token, "/ui/accounts").status, 200);

        // A Salesperson is offered none of it for another user, and a forged
        // post changes nothing.
        let other = srv.new_user(&["Salesperson"]);
        let theirs = srv.page_as(&rep.token, &format!("/ui/systemusers/{}", other.id)).text();
        assert!(!theirs.contains("/act/set_password") && !theirs.contains("/act/disable"));
        let forged = srv.form_as(
            &rep.token,
            &format!("/ui/systemusers/{}/act/set_password", other.id),
            &[("csrf", srv.csrf_of(&rep.token)), ("password", "Hijack-123".into()), ("password2", "Hijack-123".into())],
        );
        assert!(forged.status >= 400 || forged.header("location").is_some_and(|l| l.contains("problem")));
        assert_eq!(sign_in(srv, &other.email, "Hijack-123"), 401);

        // Every user changes their own password, given the current one; their
        // other browser sessions end, this one goes on.
        let (_, here) = session(srv, &rep.email, "New-Passw0rd");
        let (_, elsewhere) = session(srv, &rep.email, "New-Passw0rd");
        let rep_csrf = srv.csrf_of(&here);
        let own = |current: &str, new: &str, again: &str| {
            srv.form_as(
                &here,
                "/ui/preferences/password",
                &[("csrf", rep_csrf.clone()), ("current", current.into()), ("new", new.into()), ("new2", again.into())],
            )
        };
        let r = own("not-it", "Mine-Passw0rd", "Mine-Passw0rd");
        assert_eq!(r.status, 400);
        assert!(r.text().contains("current password is not right"));
        assert_eq!(own("New-Passw0rd", "Mine-Passw0rd", "Mine-Passw0rX").status, 400);
        assert_eq!(own("New-Passw0rd", "short", "short").status, 400);
        assert_eq!(sign_in(srv, &rep.email, "New-Passw0rd"), 303, "nothing changed after refusals");
        assert_eq!(srv.page_as(&elsewhere, "/ui/accounts").status, 200, "refusals sign nobody out");
        assert_eq!(own("New-Passw0rd", "Mine-Passw0rd", "Mine-Passw0rd").status, 303);
        assert_eq!(srv.page_as(&here, "/ui/accounts").status, 200, "this session goes on");
        assert_ne!(srv.page_as(&elsewhere, "/ui/accounts").status, 200, "the other session ended");
        assert_eq!(srv.page_as(&rep.token, "/ui/accounts").status, 200, "tokens made for integrations stay");
        assert_eq!(sign_in(srv, &rep.email, "Mine-Passw0rd"), 303);
    });
}

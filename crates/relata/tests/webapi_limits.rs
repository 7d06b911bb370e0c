//! Service protection: a user over the configured request rate gets 429
//! with Retry-After, in Dataverse's error shape, however many server
//! processes share the database; failed sign-ins are throttled per account
//! and per client address.

mod common;

use std::process::{Child, ChildStdin};
use std::sync::Mutex;

use common::{backends, last_line, new_store, run_cli, start_server, StoreSetup};

/// Servers read their settings from the environment when they start; tests
/// that set it take turns.
static ENV: Mutex<()> = Mutex::new(());

type Server = (String, Child, ChildStdin);

/// Starts `n` servers on one store with these environment settings.
fn servers_with(store: &StoreSetup, env: &[(&str, &str)], n: usize) -> Vec<Server> {
    let _guard = ENV.lock().unwrap_or_else(|e| e.into_inner());
    for (k, v) in env {
        std::env::set_var(k, v);
    }
    let out = (0..n).map(|_| start_server(store)).collect();
    for (k, _) in env {
        std::env::remove_var(k);
    }
    out
}

fn cli(store: &StoreSetup, args: &[&str]) -> std::process::Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(store.args());
    run_cli(&all)
}

#[test]
fn requests_over_the_limit_get_429_with_retry_after_across_processes() {
    for backend in backends() {
        let store = new_store(backend);
        cli(&store, &["user", "create", "--email", "limit@relata.test", "--password", "Limit-Passw0rd!"]);
        let token = last_line(&cli(&store, &["token", "create", "--email", "limit@relata.test"]).stdout);
        // Two processes on one database draw on one budget of 5 a minute.
        let servers = servers_with(&store, &[("RELATA_REQUESTS_PER_MINUTE", "5")], 2);
        let client = reqwest::blocking::Client::new();
        let mut statuses = Vec::new();
        let mut limited = None;
        for i in 0..8 {
            let base = &servers[i % 2].0;
            let r = client.get(format!("{base}/api/data/v9.2/WhoAmI")).bearer_auth(&token).send().expect("request");
            statuses.push(r.status().as_u16());
            if r.status().as_u16() == 429 && limited.is_none() {
                let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
                let body: serde_json::Value = r.json().expect("JSON error body");
                limited = Some((retry, body));
            }
        }
        // A minute boundary may fall inside the loop and refill the budget.
        let ok = statuses.iter().filter(|s| **s == 200).count();
        assert!(ok == 5 || (ok > 5 && ok <= 10 && statuses[5] == 429), "[{backend}] {statuses:?}");
        assert!(statuses[..5].iter().all(|s| *s == 200), "[{backend}] {statuses:?}");
        let (retry, body) = limited.expect("a 429 answer");
        let secs: u64 = retry.expect("Retry-After header").parse().expect("Retry-After in seconds");
        assert!((1..=60).contains(&secs), "[{backend}] Retry-After {secs}");
        assert_eq!(body["error"]["code"], "0x80072322", "[{backend}] {body}");
    }
}

#[test]
fn failed_sign_ins_are_throttled_per_address_across_processes() {
    for backend in backends() {
        let store = new_store(backend);
        for who in ["a", "b", "c"] {
            cli(&store, &["user", "create", "--email", &format!("{who}@relata.test"), "--password", "Right-Passw0rd!"]);
        }
        let env = [("RELATA_SIGNIN_MAX_FAILURES_PER_ADDRESS", "3"), ("RELATA_TRUST_FORWARDED_FOR", "true")];
        let servers = servers_with(&store, &env, 2);
        let client = reqwest::blocking::Client::new();
        let sign_in = |server: usize, email: &str, password: &str, from: &str| {
            let r = client
                .post(format!("{}/oauth2/token", servers[server].0))
                .header("X-Forwarded-For", from)
                .form(&[("grant_type", "password"), ("username", email), ("password", password)])
                .send()
                .expect("request");
            (r.status().as_u16(), r.headers().get("retry-after").is_some())
        };
        // Three failures from one address, on different accounts and processes …
        assert_eq!(sign_in(0, "a@relata.test", "guess-1", "10.0.0.7").0, 400);
        assert_eq!(sign_in(1, "b@relata.test", "guess-2", "10.0.0.7").0, 400);
        assert_eq!(sign_in(0, "nobody@relata.test", "guess-3", "10.0.0.7").0, 400);
        // … lock that address out, right password or not, on every process.
        assert_eq!(sign_in(1, "c@relata.test", "Right-Passw0rd!", "10.0.0.7"), (429, true), "[{backend}]");
        assert_eq!(sign_in(0, "c@relata.test", "Right-Passw0rd!", "10.0.0.7"), (429, true), "[{backend}]");
        // Other addresses are not affected.
        assert_eq!(sign_in(0, "c@relata.test", "Right-Passw0rd!", "10.0.0.8").0, 200, "[{backend}]");
    }
}

//! Service protection: a user over the configured request rate gets 429
//! with Retry-After, in Dataverse's error shape.

mod common;

use common::{backends, last_line, new_store, run_cli, start_server};

#[test]
fn requests_over_the_limit_get_429_with_retry_after() {
    for backend in backends() {
        // The server started below inherits this setting.
        std::env::set_var("RELATA_REQUESTS_PER_MINUTE", "5");
        let store = new_store(backend);
        let mut args: Vec<String> = ["user", "create", "--email", "limit@relata.test", "--password", "Limit-Passw0rd!"]
            .map(String::from)
            .to_vec();
        args.extend(store.args());
        run_cli(&args);
        let mut args: Vec<String> = ["token", "create", "--email", "limit@relata.test"].map(String::from).to_vec();
        args.extend(store.args());
        let token = last_line(&run_cli(&args).stdout);
        let (base, _child, _stdin) = start_server(&store);
        std::env::remove_var("RELATA_REQUESTS_PER_MINUTE");
        let client = reqwest::blocking::Client::new();
        let mut statuses = Vec::new();
        let mut limited = None;
        for _ in 0..8 {
            let r = client.get(format!("{base}/api/data/v9.2/WhoAmI")).bearer_auth(&token).send().expect("request");
            statuses.push(r.status().as_u16());
            if r.status().as_u16() == 429 && limited.is_none() {
                let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
                let body: serde_json::Value = r.json().expect("JSON error body");
                limited = Some((retry, body));
            }
        }
        assert_eq!(&statuses[..5], &[200; 5], "[{backend}] {statuses:?}");
        assert!(statuses[5..].iter().all(|s| *s == 429), "[{backend}] {statuses:?}");
        let (retry, body) = limited.expect("a 429 answer");
        let secs: u64 = retry.expect("Retry-After header").parse().expect("Retry-After in seconds");
        assert!((1..=60).contains(&secs), "[{backend}] Retry-After {secs}");
        assert_eq!(body["error"]["code"], "0x80072322", "[{backend}] {body}");
    }
}

//! Runs the dynamics-web-api client library (tests/client/run.mjs) against
//! the shared test server of each backend.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/client").canonicalize().expect("tests/client exists")
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn dynamics_web_api_client() {
    if !have("node") || !have("npm") {
        if std::env::var_os("CI").is_some() {
            panic!("node and npm are required for the client compatibility test (CI is set)");
        }
        use std::io::Write as _;
        let _ = std::io::stderr().write_all(b"note: dynamics-web-api client test not run: node/npm not installed\n");
        return;
    }
    let dir = client_dir();
    if !dir.join("node_modules").join("dynamics-web-api").is_dir() {
        let out =
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).output().expect("run npm ci");
        assert!(
            out.status.success(),
            "npm ci failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for srv in common::servers() {
        let out = Command::new("node")
            .arg("run.mjs")
            .current_dir(&dir)
            .env("RELATA_URL", &srv.base_url)
            .env("RELATA_TOKEN", &srv.token)
            .output()
            .expect("run node");
        assert!(
            out.status.success(),
            "[{}] dynamics-web-api run failed ({}):\n{}\n{}",
            srv.backend,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

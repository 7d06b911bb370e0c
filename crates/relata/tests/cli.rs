//! The command line: tokens, start-up failures, online backup.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{each_server, enc, relata_bin, servers, uid};
use reqwest::Method;
use serde_json::json;

/// Runs `relata ARGS` with a time limit; returns (exit success, stdout, stderr).
fn run_limited(args: &[&str], limit: Duration) -> (bool, String, String) {
    let mut child = Command::new(relata_bin())
        .args(args)
        .env("RELATA_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run relata");
    let deadline = Instant::now() + limit;
    loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            return (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "relata {} still running after {limit:?}; stderr so far: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[track_caller]
fn assert_one_clear_line(stderr: &str, mentions: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got:\n{stderr}");
    let line = lines[0];
    assert!(!line.contains("panicked") && !line.contains("backtrace") && !line.contains("RUST_BACKTRACE"), "{line}");
    assert!(line.to_lowercase().contains("error"), "the line says it is an error: {line}");
    assert!(line.contains(mentions), "the line mentions {mentions:?}: {line}");
}

#[test]
fn revoked_token_is_refused() {
    each_server(|srv| {
        let email = format!("revoke-{}@relata.test", uid());
        srv.cli(&["user", "create", "--email", &email, "--password", "Revoke-Passw0rd!", "--role", "Salesperson"]);
        let out = srv.cli(&["token", "create", "--email", &email]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let token = common::last_line(&out.stdout);
        let id = stdout
            .lines()
            .find_map(|l| l.strip_prefix("token id:"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| panic!("no token id in {stdout}"));
        srv.send(srv.req_as(&token, Method::GET, "/WhoAmI()")).expect(200);

        // The token list shows it as active.
        let list = String::from_utf8_lossy(&srv.cli(&["token", "list", "--email", &email]).stdout).into_owned();
        assert!(list.contains(&id) && list.contains("active"), "{list}");

        srv.cli(&["token", "revoke", &id]);
        let r = srv.send(srv.req_as(&token, Method::GET, "/WhoAmI()"));
        assert_eq!(r.status, 401, "a revoked token is refused at once: {}", r.text());
        let list = String::from_utf8_lossy(&srv.cli(&["token", "list", "--email", &email]).stdout).into_owned();
        assert!(list.contains("revoked"), "{list}");
        // Revoking twice fails with a message.
        let mut args: Vec<String> = vec!["token".into(), "revoke".into(), id.clone()];
        args.extend(srv.store_args());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, stderr) = run_limited(&refs, Duration::from_secs(30));
        assert!(!ok, "revoking twice fails");
        assert_one_clear_line(&stderr, &id);
        // The admin's token still works.
        srv.get("/WhoAmI()").expect(200);
    });
}

#[test]
fn serve_with_a_bad_listen_address_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, _, stderr) =
        run_limited(&["serve", "--listen", "not-an-address", "--data-dir", d], Duration::from_secs(30));
    assert!(!ok, "serve with a bad address must fail");
    assert_one_clear_line(&stderr, "not-an-address");
}

#[test]
fn serve_with_an_unreachable_database_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let (ok, _, stderr) = run_limited(
        &["serve", "--listen", &listen, "--data-dir", d, "--database-url", "postgres://nobody@127.0.0.1:1/x"],
        Duration::from_secs(60),
    );
    assert!(!ok, "serve with an unreachable database must fail");
    assert_one_clear_line(&stderr, "127.0.0.1");
    assert!(!stderr.contains("postgres://nobody:"), "no password is printed");
}

#[test]
fn user_create_rejects_bad_input() {
    each_server(|srv| {
        let mut base = srv.store_args();
        let email = format!("dup-{}@relata.test", uid());
        srv.cli(&["user", "create", "--email", &email, "--password", "Dup-Passw0rd!", "--role", "Salesperson"]);
        // The same email twice.
        let mut args: Vec<String> = ["user", "create", "--email", &email, "--password", "Dup-Passw0rd!"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.append(&mut base);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, stderr) = run_limited(&refs, Duration::from_secs(30));
        assert!(!ok, "a duplicate email is refused");
        assert_one_clear_line(&stderr, &email);
        // An unknown role.
        let mut args: Vec<String> = [
            "user",
            "create",
            "--email",
            &format!("r-{}@relata.test", uid()),
            "--password",
            "Role-Passw0rd!",
            "--role",
            "No Such Role",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(srv.store_args());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, stderr) = run_limited(&refs, Duration::from_secs(30));
        assert!(!ok, "an unknown role is refused");
        assert_one_clear_line(&stderr, "No Such Role");
    });
}

#[test]
fn online_backup_of_sqlite() {
    let Some(srv) = servers().iter().find(|s| s.backend == "sqlite") else { return };
    let tag = uid();
    let names: Vec<String> = (0..3).map(|i| format!("Backup {tag} {i}")).collect();
    for n in &names {
        srv.create("accounts", &json!({ "name": n }));
    }
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("copy.db");
    let file_s = file.to_str().unwrap().to_string();
    // Writes go on while the backup runs.
    let writer = std::thread::scope(|s| {
        let h = s.spawn(|| {
            for i in 0..20 {
                srv.create("accounts", &json!({ "name": format!("During {tag} {i}") }));
            }
        });
        srv.cli(&["backup", "--to", &file_s]);
        h.join()
    });
    writer.expect("writer thread");
    assert!(file.is_file(), "backup file written");

    let conn =
        rusqlite::Connection::open_with_flags(&file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("backup opens");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(check, "ok");
    let n: i64 = conn
        .query_row("SELECT count(*) FROM account WHERE name LIKE ?1", [format!("Backup {tag} %")], |r| r.get(0))
        .expect("account table in the backup");
    assert_eq!(n, 3, "the accounts are in the backup");

    // The server keeps working, and a second backup to the same file needs --force.
    srv.get(&format!("/accounts?$select=name&$filter={}", enc(&format!("startswith(name,'Backup {tag}')"))))
        .expect(200);
    let mut args: Vec<String> = vec!["backup".into(), "--to".into(), file_s.clone()];
    args.extend(srv.store_args());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run_limited(&refs, Duration::from_secs(30));
    assert!(!ok, "an existing file is not overwritten");
    assert_one_clear_line(&stderr, "copy.db");
    srv.cli(&["backup", "--to", &file_s, "--force"]);
}

#[test]
fn backup_refuses_postgres() {
    let Some(srv) = servers().iter().find(|s| s.backend == "postgres") else { return };
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("pg.db");
    let mut args: Vec<String> = vec!["backup".into(), "--to".into(), file.to_str().unwrap().into()];
    args.extend(srv.store_args());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run_limited(&refs, Duration::from_secs(30));
    assert!(!ok);
    assert_one_clear_line(&stderr, "pg_dump");
    assert!(!file.exists());
}

#[test]
fn custom_columns_and_entities_from_the_cli_reach_a_running_server() {
    each_server(|srv| {
        // A column added by another process: the server sees the new schema
        // version on its next request and serves the column.
        let col = format!("new_cli{}", common::uid_alpha().to_lowercase());
        srv.cli(&["attribute", "add", "--entity", "account", "--name", &col, "--type", "string", "--max-length", "40"]);
        let name = format!("Cli column {}", uid());
        let id = srv.create("accounts", &json!({ "name": name, col.clone(): "from the CLI" }));
        let v = srv.retrieve("accounts", id, &format!("$select={col}"));
        assert_eq!(v[&col], "from the CLI");
        let rows =
            srv.get(&format!("/accounts?$select=name&$filter={}", enc(&format!("{col} eq 'from the CLI'")))).rows();
        assert!(rows.iter().any(|r| r["name"] == name.as_str()), "{rows:?}");
        srv.post("/accounts", &json!({ "name": "too long", col.clone(): "x".repeat(41) })).expect_error(400);

        // A custom entity with a money column gets its base twin and currency.
        let entity = format!("new_clie{}", common::uid_alpha().to_lowercase());
        srv.cli(&["entity", "create", "--name", &entity, "--label", "Cli Thing"]);
        srv.cli(&["attribute", "add", "--entity", &entity, "--name", "new_amount", "--type", "money"]);
        srv.cli(&[
            "attribute",
            "add",
            "--entity",
            &entity,
            "--name",
            "new_tier",
            "--type",
            "picklist",
            "--options",
            "1=Gold,2=Silver",
        ]);
        let set = format!("{entity}s");
        let id = srv.create(&set, &json!({ "new_name": "thing", "new_amount": 10.25, "new_tier": 2 }));
        let v = srv.retrieve(&set, id, "$select=new_amount,new_amount_base,new_tier");
        assert_eq!(common::dec(&v["new_amount"]), common::d("10.25"));
        assert_eq!(common::dec(&v["new_amount_base"]), common::d("10.25"));
        srv.post(&format!("/{set}"), &json!({ "new_name": "bad tier", "new_tier": 3 })).expect_error(400);

        // Bad input: no prefix, unknown type, unknown entity.
        for args in [
            vec!["attribute", "add", "--entity", "account", "--name", "noprefix", "--type", "string"],
            vec!["attribute", "add", "--entity", "account", "--name", "new_x", "--type", "blob"],
            vec!["attribute", "add", "--entity", "new_missing", "--name", "new_x", "--type", "string"],
        ] {
            let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            all.extend(srv.store_args());
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            let (ok, _, stderr) = run_limited(&refs, Duration::from_secs(30));
            assert!(!ok, "{args:?} must fail");
            assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
        }
    });
}

#[test]
fn demo_data_is_varied_linked_and_goes_through_the_rules() {
    for backend in common::backends() {
        let store = common::new_store(backend);
        let mut args: Vec<String> = ["demo", "--size", "small"].map(String::from).to_vec();
        args.extend(store.args());
        common::run_cli(&args);
        let mut args: Vec<String> = ["user", "create", "--email", "demo@relata.test", "--password", "Demo-Passw0rd!"]
            .map(String::from)
            .to_vec();
        args.extend(store.args());
        common::run_cli(&args);
        let mut args: Vec<String> = ["token", "create", "--email", "demo@relata.test"].map(String::from).to_vec();
        args.extend(store.args());
        let token = common::last_line(&common::run_cli(&args).stdout);
        let (base, _child, _stdin) = common::start_server(&store);
        let client = reqwest::blocking::Client::new();
        let get = |path: &str| -> serde_json::Value {
            let r = client.get(format!("{base}/api/data/v9.2/{path}")).bearer_auth(&token).send().expect("request");
            assert_eq!(r.status().as_u16(), 200, "[{backend}] {path}");
            r.json().expect("JSON")
        };
        let count = |set: &str| -> i64 {
            let r =
                client.get(format!("{base}/api/data/v9.2/{set}/$count")).bearer_auth(&token).send().expect("request");
            r.text().expect("text").trim().parse().expect("a number")
        };
        for (set, at_least) in
            [("accounts", 150), ("contacts", 150), ("leads", 20), ("opportunities", 20), ("annotations", 10)]
        {
            assert!(count(set) >= at_least, "[{backend}] {set}: {}", count(set));
        }
        assert!(count("activitypointers") >= 50, "[{backend}] activities");
        // Contacts are linked to accounts and got their full name from the rules.
        let c = get("contacts?$select=fullname,firstname,lastname,_parentcustomerid_value&$filter=_parentcustomerid_value%20ne%20null&$top=5");
        let rows = c["value"].as_array().expect("rows");
        assert!(!rows.is_empty(), "[{backend}] linked contacts");
        for r in rows {
            let full = r["fullname"].as_str().unwrap_or_default();
            assert!(full.contains(r["lastname"].as_str().unwrap_or("?")), "[{backend}] {r}");
        }
        // Varied: several industries and some won or lost opportunities.
        let groups = get("accounts?$apply=groupby((industrycode),aggregate($count%20as%20n))");
        assert!(groups["value"].as_array().map_or(0, Vec::len) >= 5, "[{backend}] {groups}");
        let closed = get("opportunities?$filter=statecode%20ne%200&$count=true&$top=1");
        assert!(closed["@odata.count"].as_i64().unwrap_or(0) > 0, "[{backend}] {closed}");
    }
}

#[test]
fn serve_shuts_down_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut child = Command::new(relata_bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir", dir.path().to_str().unwrap()])
        .env("RELATA_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start relata serve");
    let health = format!("http://127.0.0.1:{port}/health");
    let started = Instant::now();
    while reqwest::blocking::get(&health).map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let stopped = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(stopped.elapsed() < Duration::from_secs(15), "the server did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(exit.success(), "exit {exit:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The database is closed cleanly and opens again.
    assert!(dir.path().join("relata.db").exists());
}

//! The command line: tokens, start-up failures, online backup.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{backends, each_server, enc, new_store, relata_bin, servers, start_server_env, uid, StoreSetup};
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

/// The lines of stderr other than the one naming the database in use.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("database: ")).collect()
}

#[track_caller]
fn assert_one_clear_line(stderr: &str, mentions: &str) {
    let lines = error_lines(stderr);
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
            assert_eq!(error_lines(&stderr).len(), 1, "one clear line: {stderr}");
        }
    });
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

// ----- which database a command uses -----------------------------------------

/// One finished run of the CLI.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The one line naming the database in use.
    #[track_caller]
    fn database(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| l.starts_with("database: ")).collect();
        assert_eq!(lines.len(), 1, "one line naming the database:\n{}", self.stderr);
        lines[0]
    }

    #[track_caller]
    fn succeeded(self, what: &str) -> Self {
        assert!(self.ok, "{what} failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

/// Runs `relata ARGS` in `cwd` with only the given `RELATA_*` settings in
/// its environment and `stdin` (none: empty) as its input.
fn run_in(cwd: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(relata_bin());
    cmd.args(args)
        .current_dir(cwd)
        .env("RELATA_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("RELATA_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("run relata");
    // Dropping the pipe after writing closes it: the command sees the end.
    let mut input = child.stdin.take().expect("stdin pipe");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("relata output");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `relata ARGS` on `store` (its `--data-dir` and `--database-url`).
fn run_on(store: &StoreSetup, args: &[&str], stdin: Option<&str>) -> Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(store.args());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    run_in(&store.data_dir, &refs, &[], stdin)
}

/// The commands that read, or change what must already exist.
const NEED_A_DATABASE: &[&[&str]] = &[
    &["user", "list"],
    &["audit", "list"],
    &["role", "list"],
    &["role", "show", "Salesperson"],
    &["license", "report"],
    &["bu", "list"],
    &["team", "list"],
    &["entity", "list"],
    &["attribute", "list", "--entity", "account"],
    &["token", "list"],
    &["token", "create", "--email", "x@relata.test"],
    &["user", "disable", "--email", "x@relata.test"],
    &["user", "enable", "--email", "x@relata.test"],
    &["user", "unlock", "--email", "x@relata.test"],
    &["user", "password", "--email", "x@relata.test", "--password", "Long-Passw0rd!"],
    &["user", "license", "--email", "x@relata.test", "--license", "basic"],
    &["bu", "disable", "--name", "Nowhere"],
    &["team", "delete", "Nowhere"],
    &["role", "delete", "Nowhere"],
];

#[test]
fn commands_that_need_a_database_never_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    let absent = cwd.join("nowhere");
    let expected = absent.join("relata.db").display().to_string();
    for args in NEED_A_DATABASE.iter().copied().chain([&["backup", "--to", "copy.db"][..]]) {
        // A relative --data-dir is named from the root.
        let mut all = args.to_vec();
        all.extend(["--data-dir", "nowhere"]);
        let r = run_in(&cwd, &all, &[], None);
        assert!(!r.ok, "relata {args:?} without a database must fail");
        assert_one_clear_line(&r.stderr, &expected);
        for hint in ["--data-dir", "RELATA_DATA_DIR", "relata.toml"] {
            assert!(
                r.stderr.contains(hint),
                "relata {args:?}: the error says how to point at a database ({hint}): {}",
                r.stderr
            );
        }
        assert!(!absent.exists(), "relata {args:?} created {}", absent.display());
    }
    // Nothing given: the default ./relata-data, named in full, not created.
    let r = run_in(&cwd, &["user", "list"], &[], None);
    assert!(!r.ok);
    assert_one_clear_line(&r.stderr, &cwd.join("relata-data").join("relata.db").display().to_string());
    // RELATA_DATA_DIR is where the database is looked for too.
    let r = run_in(&cwd, &["bu", "list"], &[("RELATA_DATA_DIR", absent.to_str().unwrap())], None);
    assert!(!r.ok);
    assert_one_clear_line(&r.stderr, &expected);
    let left: Vec<_> = std::fs::read_dir(&cwd).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "nothing was written: {left:?}");
}

#[test]
fn commands_that_need_a_database_refuse_an_empty_postgresql_schema() {
    if !backends().contains(&"postgres") {
        return;
    }
    let store = new_store("postgres");
    let url = store.database_url.clone().unwrap();
    // A password in the URL is never printed.
    let with_password = url.replacen("postgres://postgres@", "postgres://postgres:Sekret-Word@", 1);
    assert_ne!(with_password, url, "the test URL names the user postgres: {url}");
    for args in NEED_A_DATABASE {
        let mut all = args.to_vec();
        all.extend(["--database-url", &with_password]);
        let r = run_in(&store.data_dir, &all, &[], None);
        assert!(!r.ok, "relata {args:?} on an empty schema must fail");
        assert_one_clear_line(&r.stderr, "postgres://postgres:***@127.0.0.1");
        assert!(r.stderr.contains("holds no Relata data") && r.stderr.contains("--database-url"), "{}", r.stderr);
        assert!(!r.stderr.contains("Sekret-Word"), "the password is not printed: {}", r.stderr);
    }
    let mut pg = postgres::Client::connect(store.pg_base.as_deref().unwrap(), postgres::NoTls).unwrap();
    let schema = store.pg_schema.clone().unwrap();
    let tables: i64 = pg
        .query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", &[&schema])
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "no table was created in {schema}");
    // A command that adds something sets the database up, and says which it used.
    let r = run_in(&store.data_dir, &["bu", "create", "--name", "East", "--database-url", &with_password], &[], None)
        .succeeded("bu create");
    let line = r.database();
    assert!(
        line.starts_with("database: postgres://postgres:***@127.0.0.1") && line.ends_with("(PostgreSQL, new)"),
        "{line}"
    );
    let r = run_in(&store.data_dir, &["bu", "list", "--database-url", &with_password], &[], None).succeeded("bu list");
    assert!(r.database().ends_with("(PostgreSQL)") && r.stdout.contains("East"), "{}\n{}", r.stderr, r.stdout);
    assert!(!r.stderr.contains("Sekret-Word"));
    pg.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}

/// Signs in through `/oauth2/token`; returns the status.
fn sign_in(base: &str, email: &str, password: &str) -> u16 {
    reqwest::blocking::Client::new()
        .post(format!("{base}/oauth2/token"))
        .form(&[("grant_type", "password"), ("username", email), ("password", password)])
        .send()
        .expect("sign-in request")
        .status()
        .as_u16()
}

#[test]
fn the_data_directory_comes_from_the_flag_the_environment_or_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (work, elsewhere, etc) = (root.join("work"), root.join("elsewhere"), root.join("etc"));
    for d in [&work, &elsewhere, &etc] {
        std::fs::create_dir(d).unwrap();
    }
    let data = root.join("crm-data");
    let db = data.join("relata.db").display().to_string();
    let env_dir = [("RELATA_DATA_DIR", data.to_str().unwrap())];

    // A user made through the environment from one directory, the password read from stdin …
    let r = run_in(
        &work,
        &["user", "create", "--email", "first@relata.test", "--password", "-", "--role", "Salesperson"],
        &env_dir,
        Some("First-Passw0rd!\n"),
    )
    .succeeded("user create");
    assert_eq!(r.database(), format!("database: {db} (SQLite, new)"));
    assert!(!work.join("relata-data").exists(), "nothing is made in the current directory");
    // … and one with the password in RELATA_PASSWORD.
    let r = run_in(
        &work,
        &["user", "create", "--email", "second@relata.test", "--role", "Salesperson"],
        &[env_dir[0], ("RELATA_PASSWORD", "Second-Passw0rd!")],
        None,
    )
    .succeeded("user create with RELATA_PASSWORD");
    assert_eq!(r.database(), format!("database: {db} (SQLite)"));

    // Listed through the flag, relative to another directory …
    let r = run_in(&elsewhere, &["user", "list", "--data-dir", "../crm-data"], &[], None).succeeded("user list");
    assert_eq!(r.database(), format!("database: {db} (SQLite)"));
    assert!(r.stdout.contains("first@relata.test") && r.stdout.contains("second@relata.test"), "{}", r.stdout);
    // … and through a configuration file whose data_dir is relative to the file.
    let config = etc.join("relata.toml");
    std::fs::write(&config, "data_dir = \"../crm-data\"\n").unwrap();
    let r = run_in(&elsewhere, &["user", "list", "--config", config.to_str().unwrap()], &[], None)
        .succeeded("user list --config");
    assert_eq!(r.database(), format!("database: {db} (SQLite)"));
    assert!(r.stdout.contains("first@relata.test"), "{}", r.stdout);

    // Bad input writes nothing: an empty stdin, a short password in the environment.
    let r = run_in(&work, &["user", "create", "--email", "third@relata.test", "--password", "-"], &env_dir, Some(""));
    assert!(!r.ok);
    assert_one_clear_line(&r.stderr, "stdin");
    let r = run_in(
        &work,
        &["user", "create", "--email", "third@relata.test"],
        &[env_dir[0], ("RELATA_PASSWORD", "short")],
        None,
    );
    assert!(!r.ok);
    assert_one_clear_line(&r.stderr, "at least 8 characters");
    let r = run_in(&work, &["user", "list"], &env_dir, None).succeeded("user list");
    assert!(!r.stdout.contains("third@relata.test"), "{}", r.stdout);
    let help = run_in(&work, &["user", "create", "--help"], &[("RELATA_PASSWORD", "Hidden-Passw0rd!")], None);
    assert!(help.stdout.contains("RELATA_PASSWORD") && !help.stdout.contains("Hidden-Passw0rd!"), "{}", help.stdout);

    // The server on that directory signs both users in.
    let store = StoreSetup { backend: "sqlite", data_dir: data, database_url: None, pg_base: None, pg_schema: None };
    let (base, _child, _stdin) = start_server_env(&store, &[]);
    assert_eq!(sign_in(&base, "first@relata.test", "First-Passw0rd!"), 200);
    assert_eq!(sign_in(&base, "second@relata.test", "Second-Passw0rd!"), 200);
}

// ----- sign-in lock-out ------------------------------------------------------

#[test]
fn a_lock_out_ends_with_unlock_a_new_password_or_enable() {
    for backend in backends() {
        let store = new_store(backend);
        let email = "locked@relata.test";
        run_on(&store, &["user", "create", "--email", "admin@relata.test", "--password", "Admin-Passw0rd!"], None)
            .succeeded("admin");
        let admin = common::last_line(
            run_on(&store, &["token", "create", "--email", "admin@relata.test"], None)
                .succeeded("token")
                .stdout
                .as_bytes(),
        );
        run_on(
            &store,
            &["user", "create", "--email", email, "--password", "-", "--role", "Salesperson"],
            Some("First-Passw0rd!\n"),
        )
        .succeeded("user create");
        // Every attempt comes from one address: allow it plenty.
        let (base, _child, _stdin) = start_server_env(&store, &[("RELATA_SIGNIN_MAX_FAILURES_PER_ADDRESS", "1000")]);
        let lock = |password: &str| {
            for _ in 0..5 {
                assert_eq!(sign_in(&base, email, "Wrong-Passw0rd!"), 400, "[{backend}]");
            }
            assert_eq!(sign_in(&base, email, password), 429, "[{backend}] five wrong passwords lock the account");
        };
        assert_eq!(sign_in(&base, email, "First-Passw0rd!"), 200, "[{backend}]");

        // unlock
        lock("First-Passw0rd!");
        let r = run_on(&store, &["user", "unlock", "--email", email], None).succeeded("user unlock");
        assert!(r.stdout.contains("unlocked user locked@relata.test (5 failed"), "[{backend}] {}", r.stdout);
        assert_eq!(sign_in(&base, email, "First-Passw0rd!"), 200, "[{backend}] unlocked at once");
        let r = run_on(&store, &["user", "unlock", "--email", email], None).succeeded("user unlock again");
        assert!(r.stdout.contains("was not locked out"), "[{backend}] {}", r.stdout);

        // A refused new password changes nothing: the lock-out stays.
        lock("First-Passw0rd!");
        let r = run_on(&store, &["user", "password", "--email", email, "--password", "-"], Some(""));
        assert!(!r.ok);
        assert_one_clear_line(&r.stderr, "stdin");
        assert_eq!(sign_in(&base, email, "First-Passw0rd!"), 429, "[{backend}]");
        // A new password ends it.
        let r = run_on(&store, &["user", "password", "--email", email, "--password", "-"], Some("Second-Passw0rd!\n"))
            .succeeded("user password");
        assert!(r.stdout.contains("ended the sign-in lock-out"), "[{backend}] {}", r.stdout);
        assert_eq!(sign_in(&base, email, "Second-Passw0rd!"), 200, "[{backend}]");

        // user enable ends it too, whether or not the user was disabled.
        lock("Second-Passw0rd!");
        let r = run_on(&store, &["user", "enable", "--email", email], None).succeeded("user enable");
        assert!(r.stdout.contains("ended the sign-in lock-out"), "[{backend}] {}", r.stdout);
        assert_eq!(sign_in(&base, email, "Second-Passw0rd!"), 200, "[{backend}]");

        // Enabling a disabled user through the Web API does the same.
        lock("Second-Passw0rd!");
        let client = reqwest::blocking::Client::new();
        let who = run_on(&store, &["user", "list"], None).succeeded("user list").stdout;
        let id = who.lines().find(|l| l.contains(email)).and_then(|l| l.split_whitespace().next()).unwrap().to_string();
        for disabled in [true, false] {
            let r = client
                .patch(format!("{base}/api/data/v9.2/systemusers({id})"))
                .bearer_auth(&admin)
                .json(&serde_json::json!({ "isdisabled": disabled }))
                .send()
                .unwrap();
            assert_eq!(r.status().as_u16(), 204, "[{backend}] {}", r.text().unwrap_or_default());
        }
        assert_eq!(sign_in(&base, email, "Second-Passw0rd!"), 200, "[{backend}]");

        // Unknown users are named.
        let r = run_on(&store, &["user", "unlock", "--email", "nobody@relata.test"], None);
        assert!(!r.ok);
        assert_one_clear_line(&r.stderr, "nobody@relata.test");
    }
}

// ----- request log -------------------------------------------------------------

#[test]
fn the_request_log_names_method_path_status_duration_and_user() {
    for backend in backends() {
        let store = new_store(backend);
        run_on(&store, &["user", "create", "--email", "logged@relata.test", "--password", "Logged-Passw0rd!"], None)
            .succeeded("user create");
        let token = common::last_line(
            run_on(&store, &["token", "create", "--email", "logged@relata.test"], None)
                .succeeded("token create")
                .stdout
                .as_bytes(),
        );
        let user_line = run_on(&store, &["user", "list"], None).succeeded("user list").stdout;
        let user_id = user_line
            .lines()
            .find(|l| l.contains("logged@relata.test"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .to_string();
        let (base, _child, _stdin) = start_server_env(&store, &[("RELATA_LOG", "warn,relata::http=info")]);
        let client = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        // The Web API, a page, a sign-in and an unknown address.
        let r = client
            .get(format!("{base}/api/data/v9.2/accounts?$top=1&access_token=Api-Secret-1"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let r = client
            .get(format!("{base}/ui/accounts?token=Page-Secret-2&view=x"))
            .header("Cookie", format!("relata_session={token}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(sign_in(&base, "logged@relata.test", "Signin-Secret-3"), 400);
        let r = client.get(format!("{base}/no/such/page")).send().unwrap();
        assert_eq!(r.status().as_u16(), 404);

        let log_file = common::server_log(&store);
        let log = std::fs::read_to_string(&log_file).unwrap();
        let request_lines: Vec<&str> = log.lines().filter(|l| l.contains("relata::http")).collect();
        let find = |needle: &str| -> &str {
            request_lines
                .iter()
                .find(|l| l.contains(needle))
                .copied()
                .unwrap_or_else(|| panic!("[{backend}] no request line with {needle:?} in:\n{log}"))
        };
        let api = find("path=/api/data/v9.2/accounts?");
        for part in [
            "method=GET",
            "$top=1&access_token=***",
            "status=200",
            &format!("user={user_id}"),
            "route=entityset",
            "ms=",
        ] {
            assert!(api.contains(part), "[{backend}] {part:?} in {api}");
        }
        let page = find("path=/ui/accounts?");
        for part in ["method=GET", "token=***&view=x", "status=200", &format!("user={user_id}"), "route=ui"] {
            assert!(page.contains(part), "[{backend}] {part:?} in {page}");
        }
        let signin = find("path=/oauth2/token");
        for part in ["method=POST", "status=400", "user=-", "route=oauth2"] {
            assert!(signin.contains(part), "[{backend}] {part:?} in {signin}");
        }
        let missing = find("path=/no/such/page");
        assert!(missing.contains("status=404") && missing.contains("user=-"), "[{backend}] {missing}");
        // Pages have their own metrics labels, not "other".
        let metrics = client.get(format!("{base}/metrics")).send().unwrap().text().unwrap();
        assert!(
            metrics.contains("relata_http_requests_total{route=\"ui\",method=\"GET\",status=\"200\"}"),
            "[{backend}] {metrics}"
        );
        assert!(metrics.contains("route=\"oauth2\""), "[{backend}] {metrics}");
        // No secret reaches the log: query values, bearer token, cookie, password.
        for secret in ["Api-Secret-1", "Page-Secret-2", "Signin-Secret-3", token.as_str()] {
            assert!(!log.contains(secret), "[{backend}] {secret} is in the log:\n{log}");
        }
    }
}

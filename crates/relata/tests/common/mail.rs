//! Real mail servers on loopback for the mail tests: an SMTP sink (aiosmtpd,
//! `tests/mail/smtp_sink.py`) that keeps what it is sent, and a Dovecot IMAP
//! server with one mailbox.
//!
//! Each server runs in its own temporary directory on a port of its own,
//! through a small shell wrapper whose standard input is a pipe held by the
//! test: dropping the server (or the test process exiting) closes the pipe,
//! and the wrapper stops the server and removes the directory. A server that
//! cannot start is a panic naming what to install, never a skip.
//!
//! Needs: `python3` with `pip install aiosmtpd==1.4.6`, Dovecot
//! (`apt-get install dovecot-imapd`), and `openssl` for the TLS variants.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// How long a server may take to come up before the harness gives up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Stops the server when the wrapper's stdin reaches end of file (SIGTERM,
/// then SIGKILL after 5 s) and removes `$MAIL_TEST_DIR`. The wrapper itself
/// exits when the server does, so an early exit is visible to the harness.
const WRAPPER: &str = r#"
exec 3<&0
"$@" &
pid=$!
(
  read _ <&3
  kill "$pid" 2>/dev/null
  n=0
  while kill -0 "$pid" 2>/dev/null; do
    n=$((n + 1))
    if [ "$n" -ge 50 ]; then kill -9 "$pid" 2>/dev/null; fi
    sleep 0.1
  done
  rm -rf "$MAIL_TEST_DIR"
) >/dev/null 2>&1 &
wait "$pid"
"#;

/// A server process under [`WRAPPER`].
struct Wrapped {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

impl Wrapped {
    fn spawn(dir: &Path, program: &Path, args: &[String], stdout: Stdio, log: &Path) -> Wrapped {
        let log_file = std::fs::File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WRAPPER)
            .arg("sh")
            .arg(program)
            .args(args)
            .env("MAIL_TEST_DIR", dir)
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn sh for {}: {e}", program.display()));
        let stdin = child.stdin.take();
        Wrapped { child: Some(child), stdin }
    }

    /// True while the server runs.
    fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Wrapped {
    fn drop(&mut self) {
        // Closing the pipe makes the wrapper stop the server and clean up; the
        // child is reaped in the background so that drop does not wait for
        // Dovecot's two-second shutdown.
        self.stdin.take();
        if let Some(mut child) = self.child.take() {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
    }
}

fn temp_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new().prefix(prefix).tempdir().expect("temp dir").keep()
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log at {}: {e})", path.display()))
}

/// Percent-encodes a URL userinfo component.
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// TLS certificates

/// A throwaway CA and a server certificate it signed, for `127.0.0.1` and
/// `localhost`.
#[derive(Clone, Debug)]
pub struct TestCerts {
    /// The CA certificate (PEM): what a client must trust.
    pub ca_pem: PathBuf,
    /// The server certificate (PEM).
    pub cert_pem: PathBuf,
    /// The server's private key (PEM, unencrypted).
    pub key_pem: PathBuf,
}

/// Makes [`TestCerts`] in `dir` with the `openssl` command.
pub fn make_certs(dir: &Path) -> TestCerts {
    std::fs::create_dir_all(dir).expect("create cert dir");
    let ca_key = dir.join("ca.key");
    let ca_pem = dir.join("ca.pem");
    let key_pem = dir.join("server.key");
    let csr = dir.join("server.csr");
    let cert_pem = dir.join("server.pem");
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n\
         basicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\n\
         subjectKeyIdentifier = hash\n\
         authorityKeyIdentifier = keyid\n",
    )
    .expect("write server.ext");
    let serial =
        format!("0x{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    let p = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    let steps: Vec<Vec<String>> = vec![
        vec![
            "req".into(),
            "-x509".into(),
            "-new".into(),
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            "ec_paramgen_curve:prime256v1".into(),
            "-nodes".into(),
            "-keyout".into(),
            p(&ca_key),
            "-out".into(),
            p(&ca_pem),
            "-days".into(),
            "30".into(),
            "-subj".into(),
            "/CN=Relata test CA".into(),
            "-addext".into(),
            "basicConstraints=critical,CA:TRUE".into(),
            "-addext".into(),
            "keyUsage=critical,keyCertSign,cRLSign".into(),
        ],
        vec![
            "req".into(),
            "-new".into(),
            "-newkey".into(),
            "ec".into(),
            "-pkeyopt".into(),
            "ec_paramgen_curve:prime256v1".into(),
            "-nodes".into(),
            "-keyout".into(),
            p(&key_pem),
            "-out".into(),
            p(&csr),
            "-subj".into(),
            "/CN=localhost".into(),
        ],
        vec![
            "x509".into(),
            "-req".into(),
            "-in".into(),
            p(&csr),
            "-CA".into(),
            p(&ca_pem),
            "-CAkey".into(),
            p(&ca_key),
            "-set_serial".into(),
            serial,
            "-days".into(),
            "30".into(),
            "-extfile".into(),
            p(&ext),
            "-out".into(),
            p(&cert_pem),
        ],
    ];
    for args in steps {
        let out = Command::new("openssl").args(&args).output().unwrap_or_else(|e| {
            panic!("cannot run openssl ({e}): the mail tests' TLS variants need it (apt-get install openssl)")
        });
        assert!(
            out.status.success(),
            "openssl {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    TestCerts { ca_pem, cert_pem, key_pem }
}

// ---------------------------------------------------------------------------
// SMTP sink

/// How the SMTP sink offers TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP.
    #[default]
    None,
    /// STARTTLS offered, and required before MAIL.
    StartTls,
    /// TLS from the first byte (smtps).
    Implicit,
}

/// Options of [`SmtpSink::start_with`].
#[derive(Clone, Debug, Default)]
pub struct SmtpOptions {
    /// Require AUTH (PLAIN or LOGIN) with these credentials; others get 535.
    pub auth: Option<(String, String)>,
    pub tls: SmtpTls,
    /// Answer the first N DATA commands with `451 4.3.0 try again later`
    /// and keep nothing.
    pub fail_first: u32,
    /// Recipients answered with 550.
    pub reject: Vec<String>,
}

/// One message the sink accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The DATA as sent (dot-unstuffed, CRLF line endings as on the wire).
    pub data: Vec<u8>,
}

impl Received {
    /// The DATA as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// An aiosmtpd server on `127.0.0.1` that keeps every message it accepts.
pub struct SmtpSink {
    port: u16,
    opts: SmtpOptions,
    msg_dir: PathBuf,
    log: PathBuf,
    certs: Option<TestCerts>,
    _proc: Wrapped,
}

fn sink_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/mail/smtp_sink.py")
}

/// The Python interpreter that has aiosmtpd: `$RELATA_TEST_PYTHON`, else
/// `python3`, else `python` from PATH, resolved to the real executable once.
pub fn python_with_aiosmtpd() -> &'static Path {
    static PY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PY.get_or_init(|| {
        let mut tried = Vec::new();
        let mut candidates: Vec<String> = Vec::new();
        if let Ok(p) = std::env::var("RELATA_TEST_PYTHON") {
            candidates.push(p);
        }
        candidates.extend(["python3".to_string(), "python".to_string()]);
        for c in candidates {
            match Command::new(&c).args(["-c", "import sys, aiosmtpd; print(sys.executable)"]).output() {
                Ok(out) if out.status.success() => {
                    let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
                    return Ok(if exe.is_empty() { PathBuf::from(c) } else { PathBuf::from(exe) });
                }
                Ok(out) => {
                    let err = String::from_utf8_lossy(&out.stderr);
                    tried.push(format!("{c}: {}", err.lines().last().unwrap_or("failed")));
                }
                Err(e) => tried.push(format!("{c}: {e}")),
            }
        }
        Err(tried.join("; "))
    });
    match found {
        Ok(p) => p,
        Err(e) => panic!(
            "the SMTP tests need Python 3 with aiosmtpd: run `python3 -m pip install aiosmtpd==1.4.6` \
             (tried {e})"
        ),
    }
}

impl SmtpSink {
    /// A plain sink without authentication.
    pub fn start() -> SmtpSink {
        SmtpSink::start_with(SmtpOptions::default())
    }

    pub fn start_with(opts: SmtpOptions) -> SmtpSink {
        let python = python_with_aiosmtpd();
        let dir = temp_dir("relata-smtp-");
        let msg_dir = dir.join("messages");
        std::fs::create_dir_all(&msg_dir).expect("create message dir");
        let log = dir.join("smtp_sink.log");
        let script = sink_script();
        assert!(script.is_file(), "missing {}", script.display());
        let mut args = vec![
            script.to_str().expect("utf-8 path").to_string(),
            "--port".into(),
            "0".into(),
            "--dir".into(),
            msg_dir.to_str().expect("utf-8 path").to_string(),
        ];
        if let Some((u, p)) = &opts.auth {
            args.push("--auth".into());
            args.push(format!("{u}:{p}"));
        }
        let certs = if opts.tls != SmtpTls::None { Some(make_certs(&dir.join("tls"))) } else { None };
        if let Some(c) = &certs {
            args.push("--cert".into());
            args.push(c.cert_pem.to_str().unwrap().to_string());
            args.push("--key".into());
            args.push(c.key_pem.to_str().unwrap().to_string());
            if opts.tls == SmtpTls::Implicit {
                args.push("--implicit-tls".into());
            }
        }
        if opts.fail_first > 0 {
            args.push("--fail-first".into());
            args.push(opts.fail_first.to_string());
        }
        for r in &opts.reject {
            args.push("--reject".into());
            args.push(r.clone());
        }
        let mut proc = Wrapped::spawn(&dir, python, &args, Stdio::piped(), &log);
        let stdout = proc.child.as_mut().unwrap().stdout.take().expect("stdout pipe");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let port = line.trim().strip_prefix("READY ").and_then(|p| p.parse::<u16>().ok()).unwrap_or_else(|| {
            panic!(
                "the SMTP sink did not start (stdout {line:?}; is aiosmtpd installed? \
                 `python3 -m pip install aiosmtpd==1.4.6`); its log:\n{}",
                read_log(&log)
            )
        });
        SmtpSink { port, opts, msg_dir, log, certs, _proc: proc }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL for lettre's `SmtpTransport::from_url`:
    /// `smtp://[user:pass@]127.0.0.1:PORT`, with `?tls=required` for
    /// STARTTLS, and `smtps://…` for implicit TLS. The userinfo is
    /// percent-encoded.
    pub fn url(&self) -> String {
        let scheme = if self.opts.tls == SmtpTls::Implicit { "smtps" } else { "smtp" };
        let auth = match &self.opts.auth {
            Some((u, p)) => format!("{}:{}@", pct(u), pct(p)),
            None => String::new(),
        };
        let query = if self.opts.tls == SmtpTls::StartTls { "?tls=required" } else { "" };
        format!("{scheme}://{auth}127.0.0.1:{}{query}", self.port)
    }

    /// The CA certificate that signed the server's certificate (TLS only).
    pub fn ca_pem(&self) -> Option<PathBuf> {
        self.certs.as_ref().map(|c| c.ca_pem.clone())
    }

    /// The server's log (aiosmtpd's stderr).
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// The messages accepted so far, in order of arrival.
    pub fn messages(&self) -> Vec<Received> {
        let mut ns: Vec<u64> = std::fs::read_dir(&self.msg_dir)
            .expect("read message dir")
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".eml")?.parse().ok())
            .collect();
        ns.sort_unstable();
        ns.into_iter()
            .map(|n| {
                let meta_path = self.msg_dir.join(format!("{n}.json"));
                let meta: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(&meta_path).unwrap_or_else(|e| panic!("read {}: {e}", meta_path.display())),
                )
                .expect("message metadata is JSON");
                let data = std::fs::read(self.msg_dir.join(format!("{n}.eml"))).expect("read message");
                Received {
                    mail_from: meta["mail_from"].as_str().unwrap_or_default().to_string(),
                    rcpt_tos: meta["rcpt_tos"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                        .unwrap_or_default(),
                    data,
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived and returns them all; panics
    /// after `timeout` listing what did arrive.
    #[track_caller]
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if Instant::now() >= deadline {
                let list: Vec<String> = got
                    .iter()
                    .map(|m| {
                        let subject =
                            m.text().lines().find(|l| l.to_ascii_lowercase().starts_with("subject:")).map(String::from);
                        format!("from {:?} to {:?} ({} bytes, {:?})", m.mail_from, m.rcpt_tos, m.data.len(), subject)
                    })
                    .collect();
                panic!(
                    "SMTP sink on port {}: expected {n} message(s) within {timeout:?}, got {}:\n  {}\nserver log:\n{}",
                    self.port,
                    got.len(),
                    list.join("\n  "),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

// ---------------------------------------------------------------------------
// IMAP (Dovecot)

/// The IMAP login of the test mailbox.
pub const IMAP_USER: &str = "sales";
/// Its password.
pub const IMAP_PASSWORD: &str = "Imap-Passw0rd";
/// The e-mail address tests should treat as the mailbox's (Dovecot does not
/// care: everything appended lands in this user's INBOX).
pub const IMAP_ADDRESS: &str = "sales@relata.test";

fn dovecot_bin() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/dovecot");
    if sbin.is_file() {
        return sbin;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&paths) {
            let p = d.join("dovecot");
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("the IMAP tests need Dovecot: run `apt-get install dovecot-imapd` (no /usr/sbin/dovecot, none on PATH)")
}

/// (uid, gid) of a user in /etc/passwd, and the name of a uid.
fn passwd_by_name(name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 4 && f[0] == name {
            Some((f[2].parse().ok()?, f[3].parse().ok()?))
        } else {
            None
        }
    })
}

fn passwd_name_of(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
    })
}

fn group_name_of(gid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[2].parse::<u32>().ok() == Some(gid)).then(|| f[0].to_string())
    })
}

/// A Dovecot IMAP server on `127.0.0.1` with one user ([`IMAP_USER`]) whose
/// INBOX is a maildir in a temporary directory.
pub struct ImapServer {
    port: u16,
    /// Plain IMAP port the harness uses itself (the same as `port` unless
    /// the server is imaps).
    plain_port: u16,
    tls: bool,
    log: PathBuf,
    certs: Option<TestCerts>,
    _proc: Wrapped,
}

impl ImapServer {
    /// Plain IMAP (`ssl = no`).
    pub fn start() -> ImapServer {
        ImapServer::start_inner(false)
    }

    /// IMAP over TLS from the first byte (imaps) with a throwaway CA (see
    /// [`ImapServer::ca_pem`]). The harness's own `append`/`count` use a
    /// second, plain listener.
    pub fn start_tls() -> ImapServer {
        ImapServer::start_inner(true)
    }

    fn start_inner(tls: bool) -> ImapServer {
        let dovecot = dovecot_bin();
        let mut last_log = String::new();
        // A free port can be taken between choosing and binding it: retry.
        for _ in 0..3 {
            match ImapServer::try_start(&dovecot, tls) {
                Ok(s) => return s,
                Err(log) => last_log = log,
            }
        }
        panic!("Dovecot did not start (is it installed? `apt-get install dovecot-imapd`); its log:\n{last_log}")
    }

    fn try_start(dovecot: &Path, tls: bool) -> Result<ImapServer, String> {
        let dir = temp_dir("relata-imap-");
        // Mail processes run as an unprivileged user (Dovecot refuses uid 0
        // for mail), which must reach the maildir.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod temp dir");
        let euid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&dir).expect("stat temp dir"));
        // As root: login processes as dovenull, mail as `mail`. Otherwise
        // everything runs as the current user, without chroots.
        let (internal_user, login_user, mail_uid, mail_gid) = if euid == 0 {
            let login = if passwd_by_name("dovenull").is_some() { "dovenull" } else { "nobody" };
            let (uid, gid) = passwd_by_name("mail").or_else(|| passwd_by_name("nobody")).unwrap_or((65534, 65534));
            ("root".to_string(), login.to_string(), uid, gid)
        } else {
            let me = passwd_name_of(euid).unwrap_or_else(|| panic!("uid {euid} has no name in /etc/passwd"));
            let gid = std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(&dir).unwrap());
            (me.clone(), me, euid, gid)
        };
        let home = dir.join("home");
        let mail = dir.join("mail");
        for d in [&home, &mail] {
            std::fs::create_dir_all(d).expect("create mail dirs");
            if euid == 0 {
                std::os::unix::fs::chown(d, Some(mail_uid), Some(mail_gid)).expect("chown mail dirs");
            }
        }
        let passwd = dir.join("passwd");
        std::fs::write(&passwd, format!("{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}::::::\n")).expect("write passwd");
        let log = dir.join("dovecot.log");
        let certs = if tls { Some(make_certs(&dir.join("tls"))) } else { None };
        let port = super::free_port();
        let plain_port = if tls { super::free_port() } else { port };
        let d = dir.display();
        let ssl = match &certs {
            Some(c) => format!("ssl = yes\nssl_cert = <{}\nssl_key = <{}\n", c.cert_pem.display(), c.key_pem.display()),
            None => "ssl = no\n".to_string(),
        };
        let imaps_port = if tls { port } else { 0 };
        let conf = format!(
            r#"# Written by crates/relata/tests/common/mail.rs for one test server.
base_dir = {d}/run
state_dir = {d}/state
instance_name = relata-test-imap
log_path = {log}
info_log_path = {log}
protocols = imap
listen = 127.0.0.1
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{d}/mail/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {passwd}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={d}/home/%n
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
{no_chroot}service imap-login {{
{login_chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
"#,
            log = log.display(),
            internal_group = if euid == 0 {
                "root".to_string()
            } else {
                group_name_of(mail_gid).unwrap_or_else(|| panic!("gid {mail_gid} has no name in /etc/group"))
            },
            no_chroot = if euid == 0 { "" } else { "service anvil {\n  chroot =\n}\n" },
            login_chroot = if euid == 0 { "" } else { "  chroot =\n" },
            passwd = passwd.display(),
        );
        let conf_path = dir.join("dovecot.conf");
        std::fs::write(&conf_path, conf).expect("write dovecot.conf");
        let args = vec!["-F".to_string(), "-c".to_string(), conf_path.to_str().expect("utf-8 path").to_string()];
        let mut proc = Wrapped::spawn(&dir, dovecot, &args, Stdio::null(), &dir.join("dovecot.stderr"));
        // The port accepts connections before the login process is ready:
        // wait for the greeting.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", plain_port)) {
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut buf = [0u8; 4];
                if s.read_exact(&mut buf).is_ok() && &buf == b"* OK" {
                    break;
                }
            }
            if !proc.running() || Instant::now() >= deadline {
                let why = format!("{}{}", read_log(&dir.join("dovecot.stderr")), read_log(&log));
                drop(proc);
                return Err(why);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(ImapServer { port, plain_port, tls, log, certs, _proc: proc })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        IMAP_USER
    }

    pub fn password(&self) -> &str {
        IMAP_PASSWORD
    }

    /// The address tests should use for this mailbox ([`IMAP_ADDRESS`]).
    pub fn address(&self) -> &str {
        IMAP_ADDRESS
    }

    /// `imap://sales:PASSWORD@127.0.0.1:PORT` (`imaps://` for
    /// [`ImapServer::start_tls`]); the userinfo is percent-encoded.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "imaps" } else { "imap" };
        format!("{scheme}://{}:{}@127.0.0.1:{}", pct(IMAP_USER), pct(IMAP_PASSWORD), self.port)
    }

    /// The CA certificate that signed the server's certificate (imaps only).
    pub fn ca_pem(&self) -> Option<PathBuf> {
        self.certs.as_ref().map(|c| c.ca_pem.clone())
    }

    /// Dovecot's log.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// Delivers a raw message to INBOX (IMAP APPEND). Dovecot serves it back
    /// with CRLF line endings, so give CRLF for a byte-exact round trip.
    #[track_caller]
    pub fn append(&self, raw: &[u8]) {
        let mut c = self.connect();
        c.append("INBOX", raw);
        c.logout();
    }

    /// Messages in INBOX.
    #[track_caller]
    pub fn count(&self) -> usize {
        let mut c = self.connect();
        let lines = c.command("STATUS INBOX (MESSAGES)");
        c.logout();
        lines
            .iter()
            .find_map(|l| {
                let l = String::from_utf8_lossy(l);
                let rest = l.split("(MESSAGES ").nth(1)?;
                rest.trim_end_matches(|ch: char| !ch.is_ascii_digit()).parse().ok()
            })
            .unwrap_or_else(|| panic!("no MESSAGES in the STATUS answer: {lines:?}"))
    }

    /// A logged-in raw IMAP connection (plain listener).
    #[track_caller]
    pub fn connect(&self) -> ImapConn {
        let mut c = ImapConn::connect(self.plain_port);
        c.command(&format!("LOGIN {IMAP_USER} {IMAP_PASSWORD}"));
        c
    }
}

/// A minimal IMAP client over plain TCP, enough for the harness and for
/// checks: commands are tagged, answers are read up to the tagged line,
/// literals included.
pub struct ImapConn {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
    tag: u32,
}

impl ImapConn {
    /// Connects and reads the greeting.
    #[track_caller]
    pub fn connect(port: u16) -> ImapConn {
        let stream =
            TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect IMAP port {port}: {e}"));
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut c = ImapConn { reader: BufReader::new(stream.try_clone().unwrap()), stream, tag: 0 };
        let greeting = c.read_line();
        assert!(greeting.starts_with(b"* OK"), "IMAP greeting: {}", String::from_utf8_lossy(&greeting));
        c
    }

    /// One response line with any literals it announces appended (raw bytes,
    /// CRLF included).
    fn read_line(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let start = out.len();
            let n = self.reader.read_until(b'\n', &mut out).expect("read IMAP response");
            assert!(n > 0, "IMAP server closed the connection after: {}", String::from_utf8_lossy(&out));
            let line = &out[start..];
            // "{123}\r\n" at the end announces a literal of 123 bytes.
            let trimmed = line.strip_suffix(b"\r\n").unwrap_or(line);
            let literal = trimmed
                .strip_suffix(b"}")
                .and_then(|t| t.iter().rposition(|&b| b == b'{').map(|i| &t[i + 1..]))
                .and_then(|n| std::str::from_utf8(n).ok()?.trim_end_matches('+').parse::<usize>().ok());
            match literal {
                Some(len) => {
                    let mut buf = vec![0u8; len];
                    self.reader.read_exact(&mut buf).expect("read IMAP literal");
                    out.extend_from_slice(&buf);
                }
                None => return out,
            }
        }
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("a{}", self.tag)
    }

    fn read_tagged(&mut self, tag: &str, what: &str) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line();
            if line.starts_with(format!("{tag} ").as_bytes()) {
                let ok = line[tag.len() + 1..].starts_with(b"OK");
                lines.push(line);
                assert!(
                    ok,
                    "IMAP {what} failed: {}",
                    lines.iter().map(|l| String::from_utf8_lossy(l)).collect::<String>()
                );
                return lines;
            }
            lines.push(line);
        }
    }

    /// Sends `cmd` and returns every response line up to and including the
    /// tagged OK; panics on NO/BAD.
    #[track_caller]
    pub fn command(&mut self, cmd: &str) -> Vec<Vec<u8>> {
        let tag = self.next_tag();
        self.stream.write_all(format!("{tag} {cmd}\r\n").as_bytes()).expect("send IMAP command");
        let what = cmd.split(' ').next().unwrap_or(cmd).to_string();
        self.read_tagged(&tag, &what)
    }

    /// APPEND `raw` to `mailbox` (a synchronizing literal).
    #[track_caller]
    pub fn append(&mut self, mailbox: &str, raw: &[u8]) {
        let tag = self.next_tag();
        self.stream.write_all(format!("{tag} APPEND {mailbox} {{{}}}\r\n", raw.len()).as_bytes()).expect("send APPEND");
        let cont = self.read_line();
        assert!(cont.starts_with(b"+"), "APPEND refused: {}", String::from_utf8_lossy(&cont));
        self.stream.write_all(raw).expect("send message");
        self.stream.write_all(b"\r\n").expect("send CRLF");
        self.read_tagged(&tag, "APPEND");
    }

    pub fn logout(&mut self) {
        let tag = self.next_tag();
        let _ = self.stream.write_all(format!("{tag} LOGOUT\r\n").as_bytes());
    }
}

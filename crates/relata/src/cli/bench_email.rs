//! `relata bench --emails N`: email sent end to end, over HTTP on a fresh
//! database, to a real SMTP server.
//!
//! The SMTP server is the test suite's sink (`tests/mail/smtp_sink.py`,
//! aiosmtpd), started on a free port before Relata, which is started with
//! `RELATA_SMTP_URL` pointing at it; the sink keeps each message it accepts
//! as a file (in `/dev/shm` where there is one, so that its own fsyncs are
//! not what is measured). N contacts with addresses and N draft emails to
//! them are made with `CreateMultiple` (not measured); then concurrent
//! clients call `SendEmail` for each (the queueing rate and latency), and
//! the bench waits until every email is Sent and every message is in the
//! sink: emails per second end to end, the longest time in which no
//! message arrived, the server's memory. The sink's recipients must be the
//! N contacts' addresses, each once, and no email may have Failed.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use reqwest::Method;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::bench_workflows::{alive, concurrently, print_checks, progress, r2, Api, Check, Load, MakeReq};
use super::{wait_healthy, Server, ServerEnd};

/// Records per `CreateMultiple` of the setup.
const BATCH: u64 = 250;
/// How long the sends may make no progress before the bench gives up.
const NO_PROGRESS: Duration = Duration::from_secs(180);
/// `email.statuscode`.
const SENT: u64 = 3;
const PENDING_SEND: u64 = 6;
const FAILED: u64 = 8;

/// The SMTP sink, a child process killed at the end whatever happens.
pub(super) struct Sink {
    child: Child,
    /// Kept open: the sink exits when it closes.
    _stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
    port: u16,
}

impl Sink {
    /// Starts the sink; `log_dir` receives its session log.
    pub(super) fn start(log_dir: &Path) -> Result<Sink> {
        let script = script()?;
        let dir = match Path::new("/dev/shm").is_dir() {
            true => tempfile::Builder::new().prefix("relata-bench-sink-").tempdir_in("/dev/shm"),
            false => tempfile::Builder::new().prefix("relata-bench-sink-").tempdir(),
        }
        .context("cannot create the SMTP sink's directory")?;
        let log_path = log_dir.join("smtp-sink.log");
        let log = std::fs::File::create(&log_path).context("cannot create the SMTP sink's log")?;
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--port", "0", "--dir"])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    anyhow!(
                        "the email bench needs python3 (with aiosmtpd) for its SMTP server, and there is no python3"
                    )
                }
                _ => anyhow!("cannot start the SMTP sink {}: {e}", script.display()),
            })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("the SMTP sink has no standard output")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let port = line.trim().strip_prefix("READY ").and_then(|p| p.parse::<u16>().ok());
        let Some(port) = port else {
            let status = child.try_wait().ok().flatten();
            let _ = child.kill();
            let _ = child.wait();
            let said = std::fs::read_to_string(&log_path).unwrap_or_default();
            let said = said.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_string();
            if status.and_then(|s| s.code()) == Some(3) || said.contains("aiosmtpd") {
                bail!("the email bench's SMTP server needs the Python package aiosmtpd: {said}");
            }
            bail!("the SMTP sink {} did not start ({}): {said}", script.display(), line.trim());
        };
        Ok(Sink { child, _stdin: stdin, dir, port })
    }

    pub(super) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The messages kept so far (a message's `.eml` is renamed into place
    /// whole).
    fn messages(&self) -> Result<u64> {
        Ok(self.files("eml")?.len() as u64)
    }

    fn files(&self, ext: &str) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir()).context("cannot read the SMTP sink's directory")? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) == Some(ext) {
                out.push(path);
            }
        }
        Ok(out)
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sink's script: `RELATA_BENCH_SMTP_SINK`, else the repository's,
/// found from the working directory or where the binary was built.
fn script() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("RELATA_BENCH_SMTP_SINK") {
        return Ok(PathBuf::from(p));
    }
    let relative = Path::new("tests/mail/smtp_sink.py");
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative);
    [relative.to_path_buf(), built].into_iter().find(|p| p.is_file()).ok_or_else(|| {
        anyhow!(
            "the email bench's SMTP server, tests/mail/smtp_sink.py, is not here: run it from the repository \
             or set RELATA_BENCH_SMTP_SINK to the script"
        )
    })
}

fn address(k: u64) -> String {
    format!("customer{:06}@bench.example", k + 1)
}

pub(super) struct EmailResults {
    emails: u64,
    clients: usize,
    setup_secs: f64,
    queue: Load,
    /// From the first SendEmail until every email was Sent and in the sink.
    end_to_end_secs: Option<f64>,
    first_message_ms: f64,
    stall_ms: f64,
    checks: Vec<Check>,
}

/// `CreateMultiple` of `n` records made by `make`, in batches; the ids in order.
async fn create_multiple(api: &Api, set: &str, n: u64, what: &str, make: impl Fn(u64) -> Json) -> Result<Vec<Uuid>> {
    let pb = progress(n, what);
    let mut ids = Vec::with_capacity(n as usize);
    let mut k = 0;
    while k < n {
        let end = (k + BATCH).min(n);
        let targets: Vec<Json> = (k..end).map(&make).collect();
        let answer =
            api.post(&format!("{set}/Microsoft.Dynamics.CRM.CreateMultiple"), &json!({ "Targets": targets })).await?;
        let batch =
            answer["Ids"].as_array().ok_or_else(|| anyhow!("CreateMultiple of {set} answered no Ids: {answer}"))?;
        if batch.len() as u64 != end - k {
            bail!("CreateMultiple of {} {set} answered {} ids", end - k, batch.len());
        }
        for id in batch {
            ids.push(id.as_str().and_then(|i| i.parse().ok()).ok_or_else(|| anyhow!("{id} is not an id"))?);
        }
        k = end;
        pb.set_position(k);
    }
    pb.finish_and_clear();
    Ok(ids)
}

pub(super) async fn measure(
    server: &mut Server,
    sink: &mut Sink,
    base: &str,
    token: &str,
    n: u64,
    clients: usize,
) -> Result<EmailResults> {
    let api = Api::new(base, token, clients)?;
    wait_healthy(server, api.client(), base).await?;

    let started = Instant::now();
    let contacts = create_multiple(&api, "contacts", n, "contacts", |k| {
        json!({
            "@odata.type": "Microsoft.Dynamics.CRM.contact",
            "firstname": "Customer",
            "lastname": format!("{:06}", k + 1),
            "emailaddress1": address(k),
        })
    })
    .await
    .context("cannot create the contacts")?;
    let emails = create_multiple(&api, "emails", n, "emails", |k| {
        let contact = contacts[k as usize];
        json!({
            "@odata.type": "Microsoft.Dynamics.CRM.email",
            "subject": format!("Your order {:06} has shipped", k + 1),
            "description": format!(
                "<p>Dear Customer {:06},</p><p>Your order has left our warehouse and should reach you within \
                 three working days. You can follow it in your account.</p><p>Kind regards,<br>The shop</p>",
                k + 1
            ),
            "regardingobjectid_contact_email@odata.bind": format!("/contacts({contact})"),
            "email_activity_parties": [
                { "partyid_contact@odata.bind": format!("/contacts({contact})"), "participationtypemask": 2 },
            ],
        })
    })
    .await
    .context("cannot create the emails")?;
    let setup_secs = started.elapsed().as_secs_f64();
    eprintln!("bench: {n} contacts and {n} draft emails to them made in {setup_secs:.1} s (not measured)");
    alive(server, "the setup")?;

    let queued_at = SystemTime::now();
    let started = Instant::now();
    let ids = Arc::new(emails);
    let make: MakeReq = {
        let ids = ids.clone();
        Arc::new(move |k| {
            (Method::POST, "SendEmail".to_string(), json!({ "EmailId": ids[k as usize], "IssueSend": true }))
        })
    };
    let queue = concurrently(&api, "SendEmail (queue)", n, clients, make).await;
    Load::print_header("phase");
    queue.print_row();
    alive(server, "SendEmail")?;

    // Every email queued is Sent (or Failed) and its message in the sink.
    let queued = queue.done.len() as u64;
    let pb = progress(queued, "sent");
    let (mut last, mut last_change) = ((0, 0), Instant::now());
    let end_to_end_secs = loop {
        let sent = api.count("emails", &format!("statuscode eq {SENT}")).await?;
        let failed = api.count("emails", &format!("statuscode eq {FAILED}")).await?;
        let kept = sink.messages()?;
        pb.set_position(sent.min(kept));
        if sent >= queued && kept >= queued {
            break Some(started.elapsed().as_secs_f64());
        }
        if sent + failed >= queued && kept >= sent {
            break None;
        }
        if (sent, kept) != last {
            (last, last_change) = ((sent, kept), Instant::now());
        } else if last_change.elapsed() > NO_PROGRESS {
            pb.finish_and_clear();
            bail!(
                "{sent} of {queued} emails Sent, {failed} Failed, {kept} messages in the SMTP server, and no \
                 progress for {} s",
                NO_PROGRESS.as_secs()
            );
        }
        if let Some(status) = sink.exited() {
            bail!("the SMTP sink exited ({status})");
        }
        alive(server, "the sending")?;
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    pb.finish_and_clear();

    // When each message arrived, from the file's time.
    let mut arrivals: Vec<u64> = sink
        .files("eml")?
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok()?.modified().ok())
        .map(|t| t.duration_since(queued_at).map_or(0, |d| d.as_micros() as u64))
        .collect();
    arrivals.sort_unstable();
    let first_message_ms = arrivals.first().map_or(0.0, |us| *us as f64 / 1000.0);
    let stall_ms = super::longest_gap(&arrivals) as f64 / 1000.0;

    let checks = check(&api, sink, n, &queue).await?;
    Ok(EmailResults { emails: n, clients, setup_secs, queue, end_to_end_secs, first_message_ms, stall_ms, checks })
}

/// Counts the emails by status and the sink's messages by recipient.
async fn check(api: &Api, sink: &Sink, n: u64, queue: &Load) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let mut push = |what: &str, expected: u64, found: u64| checks.push(Check { what: what.into(), expected, found });
    push("SendEmail answered", n, queue.done.len() as u64);
    push("emails Sent", n, api.count("emails", &format!("statuscode eq {SENT}")).await?);
    push("emails Failed", 0, api.count("emails", &format!("statuscode eq {FAILED}")).await?);
    push("emails still Pending Send", 0, api.count("emails", &format!("statuscode eq {PENDING_SEND}")).await?);
    push("messages in the SMTP server", n, sink.messages()?);
    let mut recipients = Vec::new();
    for meta in sink.files("json")? {
        let text = std::fs::read_to_string(&meta).with_context(|| format!("cannot read {}", meta.display()))?;
        let v: Json = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", meta.display()))?;
        for r in v["rcpt_tos"].as_array().cloned().unwrap_or_default() {
            recipients.push(r.as_str().unwrap_or_default().to_lowercase());
        }
    }
    let distinct: HashSet<&str> = recipients.iter().map(String::as_str).collect();
    let expected: HashSet<String> = (0..n).map(address).collect();
    push("recipients (one a message)", n, recipients.len() as u64);
    push("distinct recipients", n, distinct.len() as u64);
    push("recipients who are the contacts", n, distinct.iter().filter(|r| expected.contains(**r)).count() as u64);
    Ok(checks)
}

pub(super) fn summarize(backend: &str, workers: u64, results: &EmailResults, end: &ServerEnd) -> Result<()> {
    let n = results.emails;
    println!();
    match results.end_to_end_secs {
        Some(secs) => println!(
            "end to end: {n} emails queued, Sent and in the SMTP server in {secs:.1} s: {:.1} emails/s \
             (job workers: {workers})",
            n as f64 / secs.max(1e-9)
        ),
        None => println!("end to end: not every email was sent"),
    }
    println!(
        "  first message in the SMTP server {:.0} ms after the first SendEmail; longest stall (no message arrived): {:.0} ms",
        results.first_message_ms, results.stall_ms
    );
    println!("setup (contacts and draft emails, CreateMultiple): {:.1} s (not measured)", results.setup_secs);
    let failed = print_checks(&results.checks);
    let summary = json!({
        "backend": backend,
        "bench": "emails",
        "emails": n,
        "clients": results.clients,
        "job_workers": workers,
        "setup_seconds": r2(results.setup_secs),
        "queue": results.queue.json(),
        "end_to_end_seconds": results.end_to_end_secs.map(r2),
        "emails_per_s": results.end_to_end_secs.map(|s| r2(n as f64 / s.max(1e-9))),
        "first_message_ms": r2(results.first_message_ms),
        "longest_stall_ms": r2(results.stall_ms),
        "checks": results.checks.iter().map(Check::json).collect::<Vec<_>>(),
        "peak_rss_kb": end.peak_rss_kb,
        "anon_kb": end.anon_kb,
        "pss_kb": end.pss_kb,
        "data_bytes": end.data_bytes,
    });
    println!("{summary}");
    match failed.as_slice() {
        [] => Ok(()),
        [one] => bail!("the emails were not all sent as they must have been: {one}"),
        all => bail!(
            "the emails were not all sent as they must have been ({} counts wrong):\n{}",
            all.len(),
            all.join("\n")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contact_has_its_own_address() {
        let all: HashSet<String> = (0..10_000).map(address).collect();
        assert_eq!(all.len(), 10_000);
        assert_eq!(address(0), "customer000001@bench.example");
    }
}

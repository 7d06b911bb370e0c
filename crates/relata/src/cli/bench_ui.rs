//! `relata bench --ui`: the web interface over the accounts the create
//! phase made. For the accounts list, its next page, a quick find, an
//! account's page and its edit form: the HTML's size, the bytes sent
//! gzip-compressed (as browsers ask), the server's own time
//! (`Server-Timing`) and the latency seen by the client, sequentially, so
//! the figures are those of one user on an idle server.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value as Json};

/// Requests per page measured.
const ROUNDS: usize = 200;

/// One page's figures.
pub(super) struct UiPage {
    name: &'static str,
    html_bytes: usize,
    gzip_bytes: usize,
    server_ms: Vec<f64>,
    client_ms: Vec<f64>,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl UiPage {
    fn sorted(v: &[f64]) -> Vec<f64> {
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        s
    }
    pub(super) fn json(&self) -> Json {
        let (s, c) = (Self::sorted(&self.server_ms), Self::sorted(&self.client_ms));
        json!({
            "page": self.name, "html_bytes": self.html_bytes, "gzip_bytes": self.gzip_bytes,
            "server_ms_p50": pct(&s, 0.5), "server_ms_p95": pct(&s, 0.95),
            "client_ms_p50": pct(&c, 0.5), "client_ms_p95": pct(&c, 0.95),
        })
    }
    fn print(&self) {
        let (s, c) = (Self::sorted(&self.server_ms), Self::sorted(&self.client_ms));
        println!(
            "{:<16} {:>10} {:>10} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
            self.name,
            self.html_bytes,
            self.gzip_bytes,
            pct(&s, 0.5),
            pct(&s, 0.95),
            pct(&c, 0.5),
            pct(&c, 0.95)
        );
    }
}

struct Got {
    body: Vec<u8>,
    server_ms: f64,
    client_ms: f64,
}

async fn get(client: &reqwest::Client, url: &str, token: &str, gzip: bool) -> Result<Got> {
    let started = Instant::now();
    let mut req = client.get(url).header("Cookie", format!("relata_session={token}"));
    if gzip {
        req = req.header("Accept-Encoding", "gzip");
    }
    let resp = req.send().await.with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let server_ms = resp
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("dur=").nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    let body = resp.bytes().await?.to_vec();
    let client_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {}", String::from_utf8_lossy(&body).chars().take(300).collect::<String>());
    }
    Ok(Got { body, server_ms, client_ms })
}

/// The `href` of the first link with `rel="next"` in a page.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\" href=\"")? + 17;
    Some(unescape(html[at..].split('"').next()?))
}

/// Undoes the HTML escaping of an attribute value.
fn unescape(v: &str) -> String {
    v.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The first row's record link in a list page.
fn first_record(html: &str) -> Option<String> {
    let marker = "<th scope=\"row\"><a href=\"";
    let at = html.find(marker)? + marker.len();
    Some(unescape(html[at..].split('"').next()?))
}

async fn page(client: &reqwest::Client, base: &str, token: &str, name: &'static str, path: &str) -> Result<UiPage> {
    let url = format!("{base}{path}");
    let plain = get(client, &url, token, false).await?;
    // Warm once, then measure.
    get(client, &url, token, true).await?;
    let mut p = UiPage {
        name,
        html_bytes: plain.body.len(),
        gzip_bytes: 0,
        server_ms: Vec::with_capacity(ROUNDS),
        client_ms: Vec::with_capacity(ROUNDS),
    };
    for _ in 0..ROUNDS {
        let g = get(client, &url, token, true).await?;
        p.gzip_bytes = g.body.len();
        p.server_ms.push(g.server_ms);
        p.client_ms.push(g.client_ms);
    }
    Ok(p)
}

/// Measures the pages; the accounts exist already.
pub(super) async fn measure(base: &str, token: &str) -> Result<Vec<UiPage>> {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .context("cannot create the HTTP client")?;
    println!();
    println!("web interface ({ROUNDS} sequential requests per page, gzip as browsers ask):");
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "page", "HTML B", "sent B", "server p50", "server p95", "client p50", "client p95"
    );
    let list = get(&client, &format!("{base}/ui/accounts"), token, false).await?;
    let html = String::from_utf8_lossy(&list.body).to_string();
    let next = next_link(&html).ok_or_else(|| anyhow!("the accounts list has no next page"))?;
    let record = first_record(&html).ok_or_else(|| anyhow!("the accounts list shows no account"))?;
    let mut out = Vec::new();
    for (name, path) in [
        ("accounts list", "/ui/accounts".to_string()),
        ("next page", next),
        ("quick find", "/ui/accounts?q=7".to_string()),
        ("account page", record.clone()),
        ("account form", format!("{record}/edit")),
    ] {
        let p = page(&client, base, token, name, &path).await?;
        p.print();
        out.push(p);
    }
    Ok(out)
}

//! Generated hostile requests against the real `relata serve`, on SQLite
//! and PostgreSQL: random methods, paths, entity sets and keys, mutated
//! query options (seeded from the fuzz corpus), malformed and mistyped
//! JSON, huge values, NUL and control characters, bad headers (If-Match,
//! Prefer, Content-Type, Authorization), oversized and `$batch` bodies.
//!
//! Properties, for every request:
//! - no 5xx, ever;
//! - a refused write (4xx) changes nothing: the record counts, the newest
//!   `modifiedon` and the ETags of the records the test made are the same
//!   before and after;
//! - an `If-Match` with a stale ETag never writes;
//! - the response's headers stay under 8 KiB.
//!
//! `RELATA_HOSTILE_REQUESTS` (default 3000 per database) and
//! `RELATA_HOSTILE_SEED` (default random, printed) steer it.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use common::{each_server, enc, uid, Srv};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;
use serde_json::{json, Value};

/// SplitMix64, so that a seed replays the same requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const SETS: &[&str] = &[
    "accounts",
    "contacts",
    "opportunities",
    "appointments",
    "tasks",
    "leads",
    "phonecalls",
    "annotations",
    "activitypointers",
    "quotes",
    "products",
    "competitors",
    "savedqueries",
    "userqueries",
    "audits",
    "transactioncurrencies",
    "ACCOUNTS",
    "account",
    "accounts ",
    "nosuchset",
    "accounts%00",
    "$metadata",
    "EntityDefinitions(LogicalName='account')",
    "WhoAmI",
    "$batch",
    "Аккаунты",
    "..",
];

const COLUMNS: &[&str] = &[
    "name",
    "revenue",
    "industrycode",
    "numberofemployees",
    "statecode",
    "statuscode",
    "description",
    "telephone1",
    "emailaddress1",
    "creditlimit",
    "donotemail",
    "accountid",
    "ownerid",
    "versionnumber",
    "createdon",
    "modifiedon",
    "firstname",
    "lastname",
    "birthdate",
    "gendercode",
    "subject",
    "scheduledstart",
    "scheduledend",
    "estimatedvalue",
    "estimatedclosedate",
    "closeprobability",
    "prioritycode",
    "parentcustomerid_account@odata.bind",
    "primarycontactid@odata.bind",
    "customerid_account@odata.bind",
    "ownerid@odata.bind",
    "regardingobjectid_account_appointment@odata.bind",
    "@odata.type",
    "@odata.etag",
    "nosuchcolumn",
    "",
    "name\u{0}",
];

const NAVS: &[&str] = &[
    "primarycontactid",
    "contact_customer_accounts",
    "parentcustomerid_account",
    "Account_Tasks",
    "name",
    "revenue",
    "$ref",
    "$count",
    "$value",
    "Microsoft.Dynamics.CRM.QualifyLead",
    "nosuchnav",
];

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "9223372036854775808",
    "1e400",
    "-1e400",
    "99999999999999999999",
    "79228162514264337593543950336",
    "0.0000000000000000000000000001",
    "1.5",
    "NaN",
];

const DATES: &[&str] = &[
    "-262143-01-01",
    "9999-12-31T23:59:59Z",
    "0000-00-00",
    "0001-01-01T00:00:00Z",
    "2024-02-30",
    "2026-03-29T02:30",
    "10000-01-01T00:00:00Z",
    "2026-06-15T12:00:00+25:00",
];

const STRINGS: &[&str] = &[
    "ООО Ромашка",
    "😀",
    "\u{0}",
    "a\u{0}b",
    "\u{FFFF}",
    "\u{202E}",
    "\u{7}\u{1b}[31m",
    "'",
    "''",
    "\"",
    "\\",
    "%00",
    "%",
    "\r\n",
    "<script>",
    "]]>",
    "İ",
];

fn string_value(r: &mut Rng) -> String {
    match r.below(6) {
        0 => {
            let unit = r.pick(&["a", "Я", "😀", "\u{0}", "'", "\\", "%"]);
            unit.repeat(r.pick(&[200usize, 4000, 70000]))
        }
        1 => r.pick(DATES).to_string(),
        2 => r.pick(NUMBERS).to_string(),
        3 => format!("/accounts({})", uuid::Uuid::new_v4()),
        _ => r.pick(STRINGS).to_string(),
    }
}

fn json_value(r: &mut Rng, depth: usize) -> Value {
    match r.below(if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(r.chance(2)),
        2 => serde_json::from_str(r.pick(NUMBERS)).unwrap_or(Value::String("NaN".into())),
        3 | 4 => Value::String(string_value(r)),
        5 => json!(r.next() as i64),
        6 => Value::Array((0..r.below(3)).map(|_| json_value(r, depth + 1)).collect()),
        _ => json_object(r, depth + 1),
    }
}

fn json_object(r: &mut Rng, depth: usize) -> Value {
    let mut m = serde_json::Map::new();
    for _ in 0..1 + r.below(4) {
        let k = r.pick(COLUMNS).to_string();
        m.insert(k, json_value(r, depth));
    }
    Value::Object(m)
}

/// A body: JSON of random fields and types, or JSON that is not JSON.
fn body(r: &mut Rng, tag: &str) -> Vec<u8> {
    let mut v = json_object(r, 0);
    if r.chance(3) {
        // Mostly a valid name, so some writes get past the first check.
        v["name"] = json!(format!("Hostile {tag} {}", r.below(1000)));
    }
    let text = v.to_string().into_bytes();
    match r.below(12) {
        0 => text[..r.below(text.len().max(1))].to_vec(),
        1 => [text, b"garbage".to_vec()].concat(),
        2 => {
            let n = r.pick(&[100usize, 5000, 100_000]);
            format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()
        }
        3 => vec![0xff, 0xfe, b'{', b'}'],
        4 => [b"\xef\xbb\xbf".to_vec(), text].concat(),
        5 => Vec::new(),
        6 => b"{\"name\":\"\\ud800\"}".to_vec(),
        7 => format!("{{\"name\":\"x\",\"name\":\"y\",\"revenue\":{}}}", r.pick(NUMBERS)).into_bytes(),
        _ => text,
    }
}

/// Light mutations of query text: the fuzz corpus's options, turned hostile.
fn mutate(r: &mut Rng, s: &str) -> String {
    let mut out: Vec<char> = s.chars().collect();
    for _ in 0..r.below(3) {
        let at = r.below(out.len() + 1);
        match r.below(6) {
            0 if !out.is_empty() => {
                let end = (at + 1 + r.below(8)).min(out.len());
                out.drain(at.min(end)..end);
            }
            1 => out.splice(at..at, r.pick(NUMBERS).chars()).for_each(drop),
            2 => out.splice(at..at, r.pick(STRINGS).chars()).for_each(drop),
            3 => out.splice(at..at, r.pick(DATES).chars()).for_each(drop),
            4 => {
                out.splice(at..at, r.pick(&["(", ")", "'", ",", " and ", "/", ";", "$", "@p1"]).chars()).for_each(drop)
            }
            _ => out.splice(at..at, r.pick(COLUMNS).chars()).for_each(drop),
        }
    }
    out.into_iter().collect()
}

/// Query option values from `crates/fuzz/corpus/<option>/`, by option.
fn corpus_options() -> Vec<(&'static str, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut out = Vec::new();
    for (dir, option) in [
        ("odata_filter", "$filter"),
        ("odata_orderby", "$orderby"),
        ("odata_select", "$select"),
        ("odata_expand", "$expand"),
        ("odata_apply", "$apply"),
        ("fetchxml", "fetchXml"),
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for e in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
            // The fuzz inputs may name their entity set on a first line.
            let value = match text.split_once('\n') {
                Some((first, rest)) if !first.contains(['(', ' ', '<']) => rest.to_string(),
                _ => text,
            };
            out.push((option, value));
        }
    }
    assert!(!out.is_empty(), "the fuzz corpus under {} is missing", root.display());
    out
}

/// One generated request.
struct Hostile {
    method: Method,
    /// Path below the server's root.
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    stale_if_match: bool,
    /// Larger than the server accepts: it may close the connection early.
    oversized: bool,
}

impl Hostile {
    fn describe(&self) -> String {
        let mut s = format!("{} {}", self.method, self.path);
        for (k, v) in &self.headers {
            if k != "authorization" {
                s.push_str(&format!("\n{k}: {}", String::from_utf8_lossy(v)));
            }
        }
        if let Some(b) = &self.body {
            let text = String::from_utf8_lossy(b);
            let cut: String = text.chars().take(600).collect();
            s.push_str(&format!(
                "\n\n{cut}{}",
                if text.len() > cut.len() { format!("… ({} bytes)", b.len()) } else { String::new() }
            ));
        }
        s
    }
}

/// What the test made and may refer to.
struct World {
    tag: String,
    /// (entity set, id) of the records the test owns.
    owned: Vec<(&'static str, uuid::Uuid)>,
    stale_etag: String,
    options: Vec<(&'static str, String)>,
}

fn key(r: &mut Rng, w: &World, set: &str) -> String {
    match r.below(10) {
        0..=4 => {
            let same: Vec<_> = w.owned.iter().filter(|(s, _)| *s == set).collect();
            if same.is_empty() {
                w.owned[r.below(w.owned.len())].1.to_string()
            } else {
                same[r.below(same.len())].1.to_string()
            }
        }
        5 => uuid::Uuid::new_v4().to_string(),
        6 => format!("'{}'", w.owned[0].1),
        7 => format!("accountid={}", w.owned[0].1),
        8 => "9".repeat(300),
        _ => enc(r.pick(&[
            "",
            "1",
            "'",
            "00000000-0000-0000-0000-000000000000",
            "name='x'",
            "ООО",
            "\u{0}",
            "((",
            "a,b",
        ])),
    }
}

fn query(r: &mut Rng, w: &World) -> String {
    let mut parts = Vec::new();
    for _ in 0..r.below(3) {
        let (option, value) = w.options[r.below(w.options.len())].clone();
        let value =
            value.replace("{account}", &w.owned[0].1.to_string()).replace("{contact}", &w.owned[3].1.to_string());
        let value = if r.chance(3) { value } else { mutate(r, &value) };
        parts.push(format!("{option}={}", enc(&value)));
    }
    match r.below(8) {
        0 => parts.push(format!("$top={}", r.pick(NUMBERS))),
        1 => parts.push(format!("$skiptoken={}", enc(&string_value(r)))),
        2 => parts.push("$count=true".into()),
        3 => parts.push(format!("$select={}", r.pick(COLUMNS))),
        4 => parts.push(format!(
            "{}={}",
            r.pick(&["%zz", "$filter", "$FILTER", "@p1", "&&", "=", "$select"]),
            r.pick(&["%", "%C3%28", "%00", "", "'"])
        )),
        _ => {}
    }
    parts.join("&")
}

fn batch_body(r: &mut Rng, w: &World, srv: &Srv) -> (String, Vec<u8>) {
    let boundary = if r.chance(6) { "b\"q".to_string() } else { format!("batch_{}", r.below(1000)) };
    let cs = format!("changeset_{}", r.below(1000));
    let mut out = Vec::new();
    let inner = |r: &mut Rng, out: &mut Vec<u8>, id: usize| {
        let set = r.pick(&SETS[..10]);
        let method = r.pick(&["GET", "POST", "PATCH", "DELETE", "PUT", "GETT"]);
        let path = if method == "POST" || r.chance(3) { set.to_string() } else { format!("{set}({})", key(r, w, set)) };
        let url = match r.below(4) {
            0 => format!("{}/{path}", srv.api),
            1 => format!("${}", r.below(4)),
            _ => path,
        };
        out.extend_from_slice(b"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
        if !r.chance(4) {
            out.extend_from_slice(
                format!("Content-ID: {}\r\n", if r.chance(8) { "x".repeat(500) } else { id.to_string() }).as_bytes(),
            );
        }
        out.extend_from_slice(format!("\r\n{method} {url} HTTP/1.1\r\n").as_bytes());
        if method == "DELETE" || (method == "PATCH" && r.chance(2)) {
            // Deletes inside a batch carry a stale ETag: they must not delete.
            out.extend_from_slice(format!("If-Match: {}\r\n", w.stale_etag).as_bytes());
        }
        if method != "GET" && method != "DELETE" {
            out.extend_from_slice(b"Content-Type: application/json\r\n\r\n");
            out.extend(body(r, &w.tag));
        }
        out.extend_from_slice(b"\r\n");
    };
    for i in 0..1 + r.below(4) {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if r.chance(2) {
            out.extend_from_slice(format!("Content-Type: multipart/mixed; boundary={cs}\r\n\r\n").as_bytes());
            for j in 0..1 + r.below(3) {
                out.extend_from_slice(format!("--{cs}\r\n").as_bytes());
                inner(r, &mut out, i * 10 + j + 1);
            }
            if !r.chance(8) {
                out.extend_from_slice(format!("--{cs}--\r\n").as_bytes());
            }
        } else {
            inner(r, &mut out, i + 1);
        }
    }
    if !r.chance(8) {
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    }
    let ct = match r.below(10) {
        0 => "multipart/mixed".to_string(),
        1 => format!("multipart/mixed; boundary=\"{boundary}\""),
        2 => "application/json".to_string(),
        _ => format!("multipart/mixed; boundary={boundary}"),
    };
    (ct, out)
}

fn generate(r: &mut Rng, w: &World, srv: &Srv) -> Hostile {
    let mut h = Hostile {
        method: Method::GET,
        path: String::new(),
        headers: Vec::new(),
        body: None,
        stale_if_match: false,
        oversized: false,
    };
    let api = common::API_PATH;
    // A few kinds of request, weighted towards the Web API's records.
    match r.below(20) {
        0..=1 => {
            let (ct, b) = batch_body(r, w, srv);
            h.method = Method::POST;
            h.path = format!("{api}/$batch");
            h.headers.push(("content-type".into(), ct.into_bytes()));
            h.body = Some(b);
        }
        2 => {
            // Pages of the web interface, with hostile queries.
            let set = r.pick(&SETS[..8]);
            h.path = match r.below(3) {
                0 => format!(
                    "/ui/{set}?q={}&sort={}&view={}",
                    enc(&string_value(r)),
                    enc(r.pick(COLUMNS)),
                    enc(&string_value(r))
                ),
                1 => format!("/ui/{set}/{}", key(r, w, set)),
                _ => format!(
                    "/ui/calendar?view={}&date={}",
                    r.pick(&["week", "month", "day", "year", ""]),
                    enc(r.pick(DATES))
                ),
            };
            h.headers.push(("cookie".into(), format!("relata_session={}", srv.token).into_bytes()));
        }
        3 => {
            h.method = [Method::GET, Method::POST, Method::OPTIONS, Method::TRACE][r.below(4)].clone();
            h.path = r
                .pick(&[
                    "/",
                    "/health",
                    "/metrics",
                    "/oauth2/token",
                    "/oauth2/revoke",
                    "/api",
                    "/api/data/v9.1/accounts",
                    "/api/data/v9.2",
                    "/api/data/v9.2/",
                    "/%2e%2e/etc/passwd",
                    "/api/data/v9.2/accounts/../../x",
                ])
                .to_string();
            if h.method == Method::POST {
                h.headers.push(("content-type".into(), b"application/x-www-form-urlencoded".to_vec()));
                h.body = Some(
                    format!(
                        "grant_type=password&username={}&password={}",
                        enc(&string_value(r)),
                        enc(&string_value(r))
                    )
                    .into_bytes(),
                );
            }
        }
        _ => {
            let set = r.pick(SETS);
            h.method = match r.below(20) {
                0..=7 => Method::GET,
                8..=11 => Method::POST,
                12..=15 => Method::PATCH,
                16 => Method::DELETE,
                17 => Method::PUT,
                18 => Method::HEAD,
                _ => Method::from_bytes(r.pick(&[&b"MERGE"[..], b"FOO", b"PROPFIND"])).unwrap(),
            };
            let path = match r.below(8) {
                0 | 1 => set.to_string(),
                2 => format!("{set}/$count"),
                3 => format!("{set}({})/{}", key(r, w, set), r.pick(NAVS)),
                _ => format!("{set}({})", key(r, w, set)),
            };
            let q = query(r, w);
            h.path = if q.is_empty() { format!("{api}/{path}") } else { format!("{api}/{path}?{q}") };
            if !matches!(h.method, Method::GET | Method::HEAD) {
                h.body = Some(body(r, &w.tag));
                if r.chance(1000) {
                    // Past the default limit of 32 MiB.
                    let mut big = b"{\"name\":\"".to_vec();
                    big.resize(33 * 1024 * 1024, b'a');
                    big.extend_from_slice(b"\"}");
                    h.body = Some(big);
                    h.oversized = true;
                }
                let ct: &[u8] = match r.below(8) {
                    0 => b"text/plain",
                    1 => b"application/json; charset=utf-16",
                    2 => b"multipart/mixed",
                    3 => b"",
                    _ => b"application/json",
                };
                if !ct.is_empty() {
                    h.headers.push(("content-type".into(), ct.to_vec()));
                }
            }
            if h.method == Method::DELETE {
                // A delete that may succeed would take the test's records away.
                let v = if r.chance(2) { w.stale_etag.clone() } else { "W/\"not a number\"".into() };
                h.headers.push(("if-match".into(), v.into_bytes()));
                h.stale_if_match = v_is_stale(&h, w);
            }
        }
    }
    // Headers.
    if !h.path.starts_with("/ui/") && h.path.starts_with(api) {
        let auth: Vec<u8> = match r.below(14) {
            0 => Vec::new(),
            1 => b"Bearer wrong-token".to_vec(),
            2 => format!("Basic {}", srv.token).into_bytes(),
            3 => format!("Bearer {}x", srv.token).into_bytes(),
            4 => [b"Bearer ".to_vec(), vec![0xd0, 0x9f, 0xff]].concat(),
            5 => format!("Bearer {}", "A".repeat(7000)).into_bytes(),
            _ => format!("Bearer {}", srv.token).into_bytes(),
        };
        if !auth.is_empty() {
            h.headers.push(("authorization".into(), auth));
        }
    }
    if r.chance(4) && !matches!(h.method, Method::GET | Method::HEAD) && h.method != Method::DELETE {
        let v = match r.below(6) {
            0 | 1 => w.stale_etag.clone(),
            2 => "*".into(),
            3 => "W/\"99999999999999999999\"".into(),
            4 => "\"\u{7f}\"".into(),
            _ => "W/\"1\", W/\"2\"".into(),
        };
        h.headers.push(("if-match".into(), v.into_bytes()));
        h.stale_if_match = v_is_stale(&h, w);
    }
    // Long enough to hurt, short enough for the HTTP client to send.
    if h.path.len() > 30000 {
        let mut end = 30000;
        while !h.path.is_char_boundary(end) {
            end -= 1;
        }
        h.path.truncate(end);
    }
    if r.chance(8) {
        h.headers.push(("if-none-match".into(), b"*".to_vec()));
    }
    if r.chance(3) {
        let v = match r.below(7) {
            0 => "return=representation".to_string(),
            1 => format!("odata.maxpagesize={}", r.pick(NUMBERS)),
            2 => "odata.include-annotations=\"*\"".into(),
            3 => "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\",return=representation".into(),
            4 => format!("odata.include-annotations=\"{}\"", "x".repeat(3000)),
            5 => "odata.continue-on-error".into(),
            _ => ",,;=\"".into(),
        };
        h.headers.push(("prefer".into(), v.into_bytes()));
    }
    if r.chance(10) {
        h.headers.push(("odata-version".into(), r.pick(&[&b"3.0"[..], b"5.0", b"x"]).to_vec()));
    }
    if r.chance(10) {
        h.headers.push(("accept".into(), r.pick(&[&b"application/xml"[..], b"*/*;q=x", b"text/html"]).to_vec()));
    }
    if r.chance(20) {
        h.headers.push(("x-forwarded-proto".into(), r.pick(&[&b"https"[..], b"javascript", b"a b"]).to_vec()));
    }
    h
}

fn v_is_stale(h: &Hostile, w: &World) -> bool {
    h.headers.iter().any(|(k, v)| k == "if-match" && v.as_slice() == w.stale_etag.as_bytes())
}

/// Record counts and the newest change of each set, and the test's own
/// records' ETags: one `$batch` of reads.
fn fingerprint(srv: &Srv, w: &World) -> Result<String, String> {
    let sets: &[(&str, &str)] = &[
        ("accounts", "accountid"),
        ("contacts", "contactid"),
        ("opportunities", "opportunityid"),
        ("activitypointers", "activityid"),
        ("leads", "leadid"),
        ("annotations", "annotationid"),
        ("products", "productid"),
        ("competitors", "competitorid"),
        ("quotes", "quoteid"),
        ("userqueries", "userqueryid"),
    ];
    let mut parts: Vec<common::Part> = sets
        .iter()
        .map(|(set, id)| {
            common::Part::Req(common::BatchReq::new(
                "GET",
                format!("{set}?$select={id},modifiedon&$orderby=modifiedon desc,{id}&$top=1&$count=true"),
                None,
            ))
        })
        .collect();
    for (set, id) in &w.owned {
        parts.push(common::Part::Req(common::BatchReq::new("GET", format!("{set}({id})"), None)));
    }
    let (ct, b) = common::batch_body(&parts);
    let send = || {
        let req = srv
            .req(Method::POST, "/$batch")
            .header("Content-Type", ct.clone())
            .body(b.clone())
            .build()
            .expect("a request");
        srv.client.execute(req)
    };
    // A connection the server closed after a refused body is not its failure: once more.
    let r = match send().or_else(|_| send()) {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
            common::Resp { status, headers, body, what: format!("[{}] fingerprint", srv.backend) }
        }
        Err(e) => {
            return Err(format!(
                "[{}] the server no longer answers ({e}); its log ends with:\n{}",
                srv.backend,
                log_tail(srv)
            ))
        }
    };
    if r.status != 200 {
        return Err(format!("[{}] the fingerprint's batch answered {}: {}", srv.backend, r.status, r.text()));
    }
    let ct = r.header("content-type").expect("batch content type");
    let mut out = String::new();
    for p in common::parse_batch(&ct, &r.text()) {
        let v = if p.status == 200 { p.json() } else { json!({"status": p.status}) };
        let v = match v.get("value") {
            Some(rows) => {
                json!({"count": v["@odata.count"], "newest": rows.get(0).map(|r| (r["modifiedon"].clone(), r["@odata.etag"].clone()))})
            }
            None => json!({"etag": v["@odata.etag"], "status": p.status}),
        };
        out.push_str(&v.to_string());
        out.push('\n');
    }
    Ok(out)
}

/// The end of the server's log.
fn log_tail(srv: &Srv) -> String {
    let text = std::fs::read_to_string(srv.data_dir.join("server.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..]
        .iter()
        .map(|l| l.chars().take(600).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn requests_per_database() -> usize {
    std::env::var("RELATA_HOSTILE_REQUESTS")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().parse().expect("RELATA_HOSTILE_REQUESTS is a number"))
        .unwrap_or(3000)
}

fn seed() -> u64 {
    std::env::var("RELATA_HOSTILE_SEED")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().parse().expect("RELATA_HOSTILE_SEED is a number"))
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            t.as_nanos() as u64 ^ ((std::process::id() as u64) << 32)
        })
}

fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn setup(srv: &Srv) -> World {
    let tag = uid();
    let mut owned = Vec::new();
    for (i, extra) in [json!({"revenue": 1000.5, "industrycode": 7}), json!({"numberofemployees": 10}), json!({})]
        .into_iter()
        .enumerate()
    {
        let mut b = json!({"name": format!("Hostile {tag} {i}")});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        owned.push(("accounts", srv.create("accounts", &b)));
    }
    let acc = owned[0].1;
    owned.push((
        "contacts",
        srv.create(
            "contacts",
            &json!({"lastname": format!("Hostile {tag}"), "parentcustomerid_account@odata.bind": format!("/accounts({acc})")}),
        ),
    ));
    owned.push((
        "opportunities",
        srv.create(
            "opportunities",
            &json!({"name": format!("Hostile {tag}"), "customerid_account@odata.bind": format!("/accounts({acc})"), "estimatedvalue": 100}),
        ),
    ));
    owned.push((
        "appointments",
        srv.create(
            "appointments",
            &json!({"subject": format!("Hostile {tag}"), "scheduledstart": "2026-03-02T09:00:00Z", "scheduledend": "2026-03-02T10:00:00Z"}),
        ),
    ));
    // An ETag that was true once: the record has changed since.
    let stale = srv.retrieve("accounts", owned[2].1, "$select=name")["@odata.etag"].as_str().unwrap().to_string();
    srv.patch(&format!("/accounts({})", owned[2].1), &json!({"description": "changed"})).expect(204);
    World { tag, owned, stale_etag: stale, options: corpus_options() }
}

#[test]
fn hostile_requests_never_fail_the_server_nor_write_when_refused() {
    let n = requests_per_database();
    let seed = seed();
    say(&format!("hostile_http: {n} requests per database, seed {seed} (replay with RELATA_HOSTILE_SEED={seed})"));
    each_server(|srv| {
        let started = std::time::Instant::now();
        let w = setup(srv);
        // The fingerprint sees a change to one of the test's records.
        let fp = fingerprint(srv, &w).unwrap_or_else(|e| panic!("{e}"));
        srv.patch(&format!("/accounts({})", w.owned[1].1), &json!({"telephone1": "+1 555-0101"})).expect(204);
        assert_ne!(
            fp,
            fingerprint(srv, &w).unwrap_or_else(|e| panic!("{e}")),
            "[{}] the fingerprint misses an update",
            srv.backend
        );
        let mut r = Rng(seed);
        let mut classes: BTreeMap<u16, usize> = BTreeMap::new();
        let mut failures: Vec<String> = Vec::new();
        // The fingerprint while nothing has written since it was read.
        let mut known: Option<String> = None;
        let mut last = String::new();
        let mut stale = 0;
        for i in 0..n {
            let h = generate(&mut r, &w, srv);
            let writes = !matches!(h.method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
            let before = if writes {
                match known.take().map(Ok).unwrap_or_else(|| fingerprint(srv, &w)) {
                    Ok(fp) => Some(fp),
                    Err(why) => {
                        failures.push(format!("after request {}:\n{last}\n{why}", i.saturating_sub(1)));
                        break;
                    }
                }
            } else {
                None
            };
            last = h.describe();
            let mut rb = srv.client.request(h.method.clone(), format!("{}{}", srv.base_url, h.path));
            for (k, v) in &h.headers {
                match (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_bytes(v)) {
                    (Ok(k), Ok(v)) => rb = rb.header(k, v),
                    _ => continue,
                }
            }
            if let Some(b) = &h.body {
                rb = rb.body(b.clone());
            }
            let req = rb.build().expect("the request builds");
            let again = req.try_clone();
            // The server may close a kept-alive connection after refusing a
            // body it did not read; a request that meets a closed connection
            // is sent once more on a new one.
            let resp = match srv.client.execute(req).or_else(|e| match again {
                Some(req) if !h.oversized => srv.client.execute(req),
                _ => Err(e),
            }) {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let body = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
                    common::Resp { status, headers, body, what: String::new() }
                }
                // The server may answer 413 and close before an oversized body is sent.
                Err(_) if h.oversized => {
                    *classes.entry(0).or_default() += 1;
                    known = None;
                    continue;
                }
                Err(e) => {
                    failures.push(format!("[{}] request {i} failed: {e}\n{}", srv.backend, h.describe()));
                    known = None;
                    continue;
                }
            };
            *classes.entry(resp.status / 100 * 100).or_default() += 1;
            let what = || {
                format!(
                    "[{}] request {i}:\n{}\n→ {} {}",
                    srv.backend,
                    h.describe(),
                    resp.status,
                    resp.text().chars().take(1500).collect::<String>()
                )
            };
            if resp.status >= 500 {
                failures.push(format!("5xx: {}", what()));
            }
            let header_bytes: usize = resp.headers.iter().map(|(k, v)| k.as_str().len() + v.as_bytes().len() + 4).sum();
            if header_bytes > 8192 {
                failures.push(format!("{header_bytes} bytes of response headers: {}", what()));
            }
            stale += usize::from(h.stale_if_match);
            if h.stale_if_match && (200..300).contains(&resp.status) && h.method != Method::POST {
                failures.push(format!("a stale If-Match was not refused: {}", what()));
            }
            match before {
                Some(before) if resp.status >= 400 || (h.stale_if_match && h.method != Method::POST) => {
                    let after = match fingerprint(srv, &w) {
                        Ok(fp) => fp,
                        Err(why) => {
                            failures.push(format!("after request {i}:\n{}\n{why}", h.describe()));
                            break;
                        }
                    };
                    if after != before {
                        failures
                            .push(format!("a refused write changed data:\nbefore {before}\nafter {after}\n{}", what()));
                        known = None;
                    } else {
                        known = Some(after);
                    }
                }
                Some(_) => known = None,
                None => {}
            }
            if failures.len() >= 20 {
                break;
            }
        }
        // The server still serves, and the test's records are there.
        srv.get("/WhoAmI").expect(200);
        let counts: Vec<String> = classes
            .iter()
            .map(|(k, v)| if *k == 0 { format!("closed early {v}") } else { format!("{}xx {v}", k / 100) })
            .collect();
        say(&format!(
            "[{}] hostile_http: {n} requests in {:.1} s: {}; {stale} with a stale If-Match; {} failure(s)",
            srv.backend,
            started.elapsed().as_secs_f64(),
            counts.join(", "),
            failures.len()
        ));
        assert!(failures.is_empty(), "[{}] seed {seed}:\n\n{}", srv.backend, failures.join("\n\n"));
    });
}

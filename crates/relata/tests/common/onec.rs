//! 1C's side of the exchange protocol, for the tests that drive
//! `/1c_exchange` as 1C does.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{enc, Srv, ADMIN_EMAIL, ADMIN_PASSWORD};

/// 1C's side of the protocol.
pub struct OneC<'a> {
    pub srv: &'a Srv,
    pub kind: &'static str,
    pub user: String,
    pub password: String,
    /// The cookie from checkauth, sent on every later call.
    pub cookie: Option<String>,
    /// Send `sessid` in the query instead of the cookie.
    pub by_sessid: Option<String>,
    /// The exchange node this 1C exchanges through, when it has its own.
    pub node: Option<String>,
}

impl<'a> OneC<'a> {
    pub fn admin(srv: &'a Srv) -> Self {
        Self::new(srv, ADMIN_EMAIL, ADMIN_PASSWORD)
    }

    pub fn new(srv: &'a Srv, user: &str, password: &str) -> Self {
        OneC {
            srv,
            kind: "catalog",
            user: user.into(),
            password: password.into(),
            cookie: None,
            by_sessid: None,
            node: None,
        }
    }

    /// A 1C database of its own: a new exchange user and a node naming
    /// it, so that tests running side by side on one server do not meet.
    pub fn own_node(srv: &'a Srv) -> Self {
        let user = srv.new_user(&["System Administrator"]);
        let node = srv.create(
            "relata_exchangenodes",
            &json!({"relata_name": format!("1C {}", user.email), "relata_userid@odata.bind": format!("/systemusers({})", user.id)}),
        );
        OneC { node: Some(node.to_string()), ..Self::new(srv, &user.email, "User-Passw0rd!") }
    }

    /// Records of `set` from this node matching `filter`.
    pub fn rows(&self, set: &str, filter: &str) -> Vec<Value> {
        let node = self.node.as_deref().expect("a node of its own");
        let filter = if filter.is_empty() { String::new() } else { format!(" and {filter}") };
        self.srv.get(&format!("/{set}?$filter=_relata_exchangenodeid_value eq {node}{filter}")).rows()
    }

    pub fn one(&self, set: &str, filter: &str) -> Value {
        let rows = self.rows(set, filter);
        assert_eq!(rows.len(), 1, "{set} {filter}: {rows:?}");
        rows[0].clone()
    }

    pub fn product(&self, id: &str) -> Value {
        self.one("products", &format!("relata_exchangeid eq {}", enc(&format!("'{id}'"))))
    }

    pub fn url(&self, query: &str) -> String {
        let mut url = format!("{}/1c_exchange?type={}&{query}", self.srv.base_url, self.kind);
        if let Some(s) = &self.by_sessid {
            url.push_str(&format!("&sessid={s}"));
        }
        url
    }

    /// One call; the answer's lines.
    pub fn call(&self, method: reqwest::Method, query: &str, body: Option<Vec<u8>>) -> Vec<String> {
        let mut rb = self.srv.client.request(method, self.url(query));
        if let Some(c) = &self.cookie {
            rb = rb.header("Cookie", c);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb.send().expect("the exchange call");
        assert_eq!(r.status().as_u16(), 200, "{query}: 1C reads answers of status 200 only");
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(ct.starts_with("text/plain"), "{query}: answered as {ct}");
        let text = r.text().unwrap();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        assert!(
            matches!(lines.first().map(String::as_str), Some("success" | "progress" | "failure"))
                || query.contains("mode=init"),
            "{query}: 1C cannot read the answer {text:?}"
        );
        lines
    }

    pub fn check_auth(&mut self) -> Vec<String> {
        let r = self
            .srv
            .client
            .get(self.url("mode=checkauth"))
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .expect("checkauth");
        assert_eq!(r.status().as_u16(), 200);
        let lines: Vec<String> = r.text().unwrap().lines().map(str::to_string).collect();
        if lines[0] == "success" {
            self.cookie = Some(format!("{}={}", lines[1], lines[2]));
        }
        lines
    }

    pub fn init(&self, version: &str) -> Vec<String> {
        self.call(reqwest::Method::GET, &format!("mode=init&version={version}"), None)
    }

    /// Uploads a file in slices of `slice` bytes, as 1C does with files
    /// above `file_limit`.
    pub fn upload(&self, name: &str, bytes: &[u8], slice: usize) {
        for part in bytes.chunks(slice.max(1)) {
            let lines =
                self.call(reqwest::Method::POST, &format!("mode=file&filename={}", enc(name)), Some(part.to_vec()));
            assert_eq!(lines[0], "success", "upload of {name}: {lines:?}");
        }
    }

    /// `import` repeated while it answers `progress`; the final answer.
    pub fn import(&self, name: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut calls = 0;
        loop {
            let started = Instant::now();
            let lines = self.call(reqwest::Method::GET, &format!("mode=import&filename={}", enc(name)), None);
            // Every call answers quickly: the work is the job's.
            assert!(started.elapsed() < Duration::from_secs(10), "import of {name} held the call");
            calls += 1;
            if lines[0] != "progress" {
                assert!(calls > 1, "the first import call of {name} answers progress: {lines:?}");
                return lines;
            }
            assert!(Instant::now() < deadline, "import of {name} still in progress after 120 s: {lines:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// checkauth, init, upload and import of each file in order.
    pub fn exchange(&mut self, version: &str, files: &[(&str, Vec<u8>)]) -> Vec<Vec<String>> {
        assert_eq!(self.check_auth()[0], "success");
        self.init(version);
        let mut answers = Vec::new();
        for (name, bytes) in files {
            self.upload(name, bytes, 64 * 1024);
            let a = self.import(name);
            assert_eq!(a[0], "success", "import of {name}: {a:?}");
            answers.push(a);
        }
        answers
    }

    /// [`OneC::exchange`] of borrowed files, in slices of `slice` bytes.
    pub fn exchange_in(&mut self, version: &str, slice: usize, files: &[(&str, &[u8])]) -> Vec<Vec<String>> {
        assert_eq!(self.check_auth()[0], "success");
        self.init(version);
        let mut answers = Vec::new();
        for (name, bytes) in files {
            self.upload(name, bytes, slice);
            let a = self.import(name);
            assert_eq!(a[0], "success", "import of {name}: {a:?}");
            answers.push(a);
        }
        answers
    }
}

//! What a target reports: a request the server answered with a 5xx, a
//! panic, or a write where nothing was to be written.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The server answered with this 5xx status.
    Status(u16),
    /// A panic reached the harness (not turned into a response).
    Panic,
    /// A read, or a refused write, changed the database.
    Wrote,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub target: &'static str,
    pub backend: &'static str,
    /// The input as the target received it.
    pub input: Box<[u8]>,
    /// The request that failed, as sent (without credentials).
    pub request: Box<str>,
    pub kind: Kind,
    /// The response body, or the panic's message.
    pub response: Box<str>,
    /// What the server logged while it answered (the panic's location or the
    /// database's error is here; the response only names an error id).
    pub log: Box<str>,
}

impl Finding {
    /// The cause, with numbers, ids and quoted values taken out: findings
    /// with the same signature are one bug.
    pub fn signature(&self) -> String {
        let kind = match self.kind {
            Kind::Status(s) => s.to_string(),
            Kind::Panic => "panic".into(),
            Kind::Wrote => "wrote".into(),
        };
        let source: &str = if self.log.trim().is_empty() { &self.response } else { &self.log };
        // The log line's message and fields, without time stamps and ids.
        // The errors name the cause; the request log's warning repeats the input.
        let level = ["ERROR", "WARN"].into_iter().find(|lv| source.lines().any(|l| l.contains(lv)));
        let detail: String = source
            .lines()
            .filter(|l| level.is_none_or(|lv| l.contains(lv)))
            .map(|l| l.split_once("relata_").map(|(_, r)| r).unwrap_or(l))
            .collect::<Vec<_>>()
            .join(" ");
        format!("{kind} {}", normalize(&without_error_ids(&detail)))
    }

    /// A short stable name for the input.
    pub fn hash(&self) -> String {
        hex::encode(&Sha256::digest(&self.input)[..8])
    }

    /// Writes the input to `<dir>/<target>/crash-<hash>` (replayable by the
    /// runner and by cargo-fuzz) and this report beside it as `.txt`.
    pub fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let dir = dir.join(self.target);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("crash-{}", self.hash()));
        std::fs::write(&path, &self.input)?;
        std::fs::write(path.with_extension("txt"), self.to_string())?;
        Ok(path)
    }
}

/// `error_id=…` and `Error id: ….` differ on every request.
fn without_error_ids(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    loop {
        let at = ["error_id=", "Error id: "].iter().filter_map(|m| rest.find(m).map(|i| (i, m.len()))).min();
        let Some((i, len)) = at else { break };
        out.push_str(&rest[..i + len]);
        out.push('…');
        rest = &rest[i + len..];
        let end = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Digits, hexadecimal ids and quoted text replaced, whitespace squeezed.
fn normalize(s: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut prev_digit = false;
    for c in s.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
                out.push(c);
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => {
                quote = Some(c);
                out.push(c);
                out.push('…');
                prev_digit = false;
            }
            c if c.is_ascii_hexdigit() && (c.is_ascii_digit() || prev_digit) => {
                if !prev_digit {
                    out.push('#');
                }
                prev_digit = true;
            }
            c if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
                prev_digit = false;
            }
            c => {
                out.push(c);
                prev_digit = false;
            }
        }
    }
    let out = out.trim().to_string();
    crate::harness::truncate(&out, 300)
}

/// Bytes as a Rust-like string literal: printable UTF-8 as is, the rest escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() || c == '\u{FFFF}' || c == '\u{FEFF}' => {
                    out.push_str(&format!("\\u{{{:x}}}", c as u32))
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            Kind::Status(s) => format!("answered {s}"),
            Kind::Panic => "panicked".into(),
            Kind::Wrote => "changed the database where nothing was to be written".into(),
        };
        writeln!(f, "[{}] target {} {what}", self.backend, self.target)?;
        writeln!(
            f,
            "input ({} bytes): \"{}\"",
            self.input.len(),
            crate::harness::truncate(&escape(&self.input), 2000)
        )?;
        writeln!(f, "request: {}", crate::harness::truncate(&self.request, 2000))?;
        writeln!(f, "response: {}", self.response)?;
        if !self.log.trim().is_empty() {
            writeln!(f, "server log:\n{}", self.log.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for Finding {}

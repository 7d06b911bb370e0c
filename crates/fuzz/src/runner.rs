//! The stable runner: replays each target's corpus, then mutates it from a
//! seed for a bounded time, on every backend. Knobs (environment):
//! - `RELATA_FUZZ_SECONDS`: seconds per target and backend (default: about
//!   45 s for the whole run, split over the targets and backends);
//! - `RELATA_FUZZ_SEED`: the mutation seed (default: random, printed);
//! - `RELATA_FUZZ_TARGET`: run only this target;
//! - `RELATA_FUZZ_INPUT`: replay this one file (a corpus entry or a saved
//!   finding; its target is `RELATA_FUZZ_TARGET` or the folder it is in).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::finding::{escape, Finding};
use crate::harness::{backends, note, Harness};
use crate::mutate::{parse_dict, Mutator};
use crate::targets::{run, target, Target, TARGETS};

/// The whole default run takes about this long, setup aside.
const DEFAULT_TOTAL_SECONDS: f64 = 45.0;
/// A target stops after this many distinct findings.
const MAX_FINDINGS: usize = 10;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Mutation time per target and backend.
    pub seconds: f64,
    pub seed: u64,
    pub only: Option<String>,
    pub input: Option<PathBuf>,
}

impl Settings {
    pub fn from_env() -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let only = var("RELATA_FUZZ_TARGET");
        let targets = if only.is_some() { 1 } else { TARGETS.len() };
        let seconds = var("RELATA_FUZZ_SECONDS")
            .map(|s| s.trim().parse::<f64>().unwrap_or_else(|_| panic!("RELATA_FUZZ_SECONDS={s} is not a number")))
            .unwrap_or(DEFAULT_TOTAL_SECONDS / (targets * backends().len()) as f64);
        let seed = var("RELATA_FUZZ_SEED")
            .map(|s| s.trim().parse::<u64>().unwrap_or_else(|_| panic!("RELATA_FUZZ_SEED={s} is not a number")))
            .unwrap_or_else(|| {
                let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                (t.as_nanos() as u64) ^ ((std::process::id() as u64) << 32)
            });
        Settings { seconds, seed, only, input: var("RELATA_FUZZ_INPUT").map(PathBuf::from) }
    }
}

/// The crate's own directory (corpus and dictionaries live there).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where findings are written: `<target dir>/fuzz-findings`.
pub fn findings_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| crate_dir().join("../../target"));
    target.join("fuzz-findings")
}

/// The checked-in corpus of a target, in file name order.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = crate_dir().join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} cannot be read: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).expect("a corpus file")).collect()
}

/// A target's dictionary (`dict/<target>.txt`).
pub fn dict(target: &str) -> Vec<Vec<u8>> {
    let path = crate_dir().join("dict").join(format!("{target}.txt"));
    std::fs::read_to_string(&path).map(|t| parse_dict(&t)).unwrap_or_default()
}

/// What one target did on one backend.
#[derive(Debug, Default)]
pub struct Report {
    pub target: &'static str,
    pub backend: &'static str,
    pub executed: u64,
    pub elapsed: Duration,
    /// Responses by class: 1xx … 5xx.
    pub classes: [u64; 6],
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn line(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "{:<16} [{:<8}] {:>7} inputs in {:>6.1} s ({:>6.0}/s); responses 2xx {} 3xx {} 4xx {} 5xx {}; distinct findings {}",
            self.target,
            self.backend,
            self.executed,
            secs,
            self.executed as f64 / secs,
            self.classes[2],
            self.classes[3],
            self.classes[4],
            self.classes[5],
            self.findings.len()
        )
    }
}

fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// Replays the corpus of `target`, then mutates it until `budget` is spent.
pub fn fuzz(h: &Harness, t: &Target, seed: u64, budget: Duration) -> Report {
    let corpus = corpus(t.name);
    assert!(!corpus.is_empty(), "the corpus of {} is empty", t.name);
    let mut m = Mutator::new(seed ^ name_hash(t.name), dict(t.name));
    let mut report = Report { target: t.name, backend: h.backend, ..Default::default() };
    let mut seen = HashSet::new();
    let dir = findings_dir();
    // Inputs the server accepted: mutating those goes deeper than mutating
    // what it refused at the first character.
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let started = Instant::now();
    let mut next = 0usize;
    loop {
        let input = if next < corpus.len() {
            next += 1;
            corpus[next - 1].clone()
        } else {
            if started.elapsed() >= budget || report.findings.len() >= MAX_FINDINGS {
                break;
            }
            let base = if !pool.is_empty() && m.rng.chance(2) {
                m.rng.pick(&pool).clone()
            } else {
                m.rng.pick(&corpus).clone()
            };
            let other = m.rng.pick(&corpus).clone();
            m.mutate(&base, &other)
        };
        let out = run(h, t, &input);
        report.executed += 1;
        let statuses = h.take_statuses();
        for s in &statuses {
            report.classes[(*s as usize / 100).min(5)] += 1;
        }
        match out {
            Ok(()) => {
                if statuses.first().is_some_and(|s| (200..300).contains(s)) && input.len() < 8192 {
                    if pool.len() < 512 {
                        pool.push(input);
                    } else {
                        let i = m.rng.below(pool.len());
                        pool[i] = input;
                    }
                }
            }
            Err(f) => {
                if seen.insert(f.signature()) {
                    let saved =
                        f.save(&dir).map(|p| p.display().to_string()).unwrap_or_else(|e| format!("(not saved: {e})"));
                    note(&format!("FINDING {saved}\n{f}"));
                    report.findings.push(f);
                }
            }
        }
    }
    report.elapsed = started.elapsed();
    report
}

/// Runs what the settings ask for on every backend; `Err` lists the findings.
pub fn main(s: &Settings) -> Result<Vec<Report>, String> {
    if let Some(path) = &s.input {
        return replay(s, path).map(|()| Vec::new());
    }
    let targets: Vec<&Target> =
        match &s.only {
            Some(name) => vec![target(name)
                .unwrap_or_else(|| panic!("RELATA_FUZZ_TARGET={name} is not a target; targets: {}", names()))],
            None => TARGETS.iter().collect(),
        };
    note(&format!(
        "relata-fuzz: seed {} (replay the sequence with RELATA_FUZZ_SEED={}), {:.1} s per target and backend, backends: {}",
        s.seed,
        s.seed,
        s.seconds,
        backends().join(", ")
    ));
    let mut reports = Vec::new();
    for backend in backends() {
        let started = Instant::now();
        let h = Harness::new(backend);
        note(&format!("[{backend}] organization set up and seeded in {:.1} s", started.elapsed().as_secs_f64()));
        for t in &targets {
            let r = fuzz(&h, t, s.seed, Duration::from_secs_f64(s.seconds));
            note(&r.line());
            reports.push(r);
        }
    }
    let findings: Vec<&Finding> = reports.iter().flat_map(|r| &r.findings).collect();
    if findings.is_empty() {
        return Ok(reports);
    }
    let mut msg = format!(
        "{} distinct finding(s), saved under {} (replay one with RELATA_FUZZ_INPUT=<file>):\n",
        findings.len(),
        findings_dir().display()
    );
    for f in findings {
        msg.push_str(&format!("\n--- crash-{}\n{f}", f.hash()));
    }
    Err(msg)
}

fn names() -> String {
    TARGETS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// Runs one saved input on every backend.
fn replay(s: &Settings, path: &Path) -> Result<(), String> {
    // `cargo test` runs in the crate's directory; a path may be given from
    // the repository's root.
    let root = crate_dir().join("../..");
    let path = if path.is_relative() && !path.exists() && root.join(path).exists() {
        root.join(path)
    } else {
        path.to_path_buf()
    };
    let path = path.as_path();
    let input = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let from_dir = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).map(str::to_string);
    let name =
        s.only.clone().or(from_dir.filter(|n| target(n).is_some())).ok_or_else(|| {
            format!("set RELATA_FUZZ_TARGET to the target of {} (one of {})", path.display(), names())
        })?;
    let t = target(&name).ok_or_else(|| format!("{name} is not a target; targets: {}", names()))?;
    note(&format!("replaying {} on {}: \"{}\"", path.display(), t.name, escape(&input)));
    let mut failures = Vec::new();
    for backend in backends() {
        let mut h = Harness::new(backend);
        h.verbose = true;
        let out = run(&h, t, &input);
        let statuses = h.take_statuses();
        match out {
            Ok(()) => note(&format!("[{backend}] fine: statuses {statuses:?}")),
            Err(f) => {
                note(&format!("{f}"));
                failures.push(f.to_string());
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

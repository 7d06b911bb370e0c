//! `relata bench --jobs N`: how fast the job runner works through a queue
//! — jobs per second, and the delay from a job's due time to its start —
//! with N jobs queued at once on a fresh database. The jobs are the
//! platform's clean-up (three small deletes each), so the figures are the
//! runner's own cost: taking a lease, the step's transaction, the finish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use relata_engine::jobs::{NewJob, Runner, RunnerConfig};
use relata_metadata::Value;
use serde_json::json;

use super::bench::percentile;
use crate::config::Settings;

pub fn measure(settings: &Settings, backend: &str, jobs: u64, workers: usize) -> Result<()> {
    let org = Arc::new(super::open_org(settings)?);
    let admin = org.system_principal();
    let batch = uuid::Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    org.write(&admin, |s| -> relata_engine::Result<()> {
        for i in 0..jobs {
            s.enqueue(NewJob::new("platform.purgeexpired", format!("bench {batch} {i}"), json!({})))?;
        }
        Ok(())
    })
    .context("cannot queue the jobs")?;
    let queued = started.elapsed();
    let started = Instant::now();
    let runner = Runner::new(org.clone(), RunnerConfig { workers, ..Default::default() }).start();
    let filter = format!(
        "$select=postponeuntil,startedon,completedon&$filter=startswith(name,'bench {batch}') and statecode eq 3"
    );
    let done = loop {
        let n = org
            .read(&admin, |s| -> relata_engine::Result<i64> {
                let opts = relata_query::options::parse_query_options(&filter)
                    .map_err(|e| relata_engine::EngineError::Invalid(e.message))?;
                s.count("asyncoperation", &opts, None)
            })
            .context("cannot count finished jobs")?;
        if n as u64 >= jobs {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(3600) {
            anyhow::bail!("{n} of {jobs} jobs finished in an hour");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(runner);
    let rows = org
        .read(&admin, |s| super::query_all(s, "asyncoperation", &filter))
        .context("cannot read the finished jobs")?;
    let mut delays: Vec<u64> = rows
        .iter()
        .filter_map(|r| {
            let due = r.get("postponeuntil").and_then(Value::as_datetime)?;
            let start = r.get("startedon").and_then(Value::as_datetime)?;
            Some((start - due).num_milliseconds().max(0) as u64)
        })
        .collect();
    delays.sort_unstable();
    let per_second = jobs as f64 / done.as_secs_f64();
    println!(
        "{}",
        json!({
            "backend": backend,
            "jobs": jobs,
            "workers": workers,
            "queue_seconds": queued.as_secs_f64(),
            "run_seconds": done.as_secs_f64(),
            "jobs_per_second": per_second,
            "due_to_start_ms": {
                "p50": percentile(&delays, 50.0),
                "p99": percentile(&delays, 99.0),
                "max": delays.last().copied().unwrap_or(0),
            },
        })
    );
    eprintln!(
        "jobs: {jobs} queued in {:.2} s, run in {:.2} s by {workers} worker(s): {per_second:.0} jobs/s; \
         due → start p50 {} ms, p99 {} ms, max {} ms",
        queued.as_secs_f64(),
        done.as_secs_f64(),
        percentile(&delays, 50.0),
        percentile(&delays, 99.0),
        delays.last().copied().unwrap_or(0)
    );
    Ok(())
}

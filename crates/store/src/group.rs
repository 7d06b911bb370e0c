//! Group commit for SQLite: writers queue for the one write connection; the
//! writer that finds nobody queued behind it commits the whole group. Each
//! unit of work runs inside its own savepoint, so a failing one rolls back
//! alone, and nobody is answered before the group holding its work is
//! committed. Many small transactions thus share one WAL write.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;

use crate::db::{Tx, TxInner};
use crate::{Result, StoreError};

/// Most units of work committed together.
const MAX_GROUP: usize = 128;
/// A unit of work holding the writer longer than this is logged: every
/// other write waits behind it.
const SLOW_UNIT: std::time::Duration = std::time::Duration::from_millis(100);
/// A commit (one fsync) slower than this is logged: the disk is struggling.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(100);

pub(crate) struct Writer {
    state: Mutex<State>,
    committed: Condvar,
    queued: AtomicUsize,
}

struct State {
    conn: Connection,
    /// The open group, if a transaction is open.
    open: Option<u64>,
    last_group: u64,
    jobs_in_group: usize,
    /// Groups up to this one are finished (committed or failed).
    finished_upto: u64,
    /// The most recent group whose commit failed, and why.
    failed: Option<(u64, String)>,
    /// The open transaction's last row version (see `Tx::next_counter`).
    versions: std::cell::Cell<Option<i64>>,
}

impl State {
    /// Ends the open group with COMMIT (or records why it failed).
    fn finish(&mut self) -> Option<String> {
        let group = self.open.take()?;
        let started = std::time::Instant::now();
        let committed = match self.versions.take() {
            Some(v) => self
                .conn
                .prepare_cached("UPDATE relata_counter SET value = max(value, ?1) WHERE name = 'rowversion'")
                .and_then(|mut st| st.execute([v]))
                .and_then(|_| run(&self.conn, "COMMIT")),
            None => run(&self.conn, "COMMIT"),
        };
        if started.elapsed() > SLOW_COMMIT {
            tracing::warn!(ms = started.elapsed().as_millis() as u64, writes = self.jobs_in_group, "slow commit");
        }
        let err = match committed {
            Ok(()) => None,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Some(e.to_string())
            }
        };
        if let Some(e) = &err {
            self.failed = Some((group, e.clone()));
        }
        self.finished_upto = group;
        err
    }
}

/// Runs a transaction-control statement through the statement cache: these
/// run several times per request, and parsing them each time shows.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Undoes a unit of work that did not finish normally (error or panic).
struct Job<'a> {
    conn: &'a Connection,
    done: bool,
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        if !self.done && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK TO job; RELEASE job");
        }
    }
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> Writer {
        Writer {
            state: Mutex::new(State {
                conn,
                open: None,
                last_group: 0,
                jobs_in_group: 0,
                finished_upto: 0,
                failed: None,
                versions: std::cell::Cell::new(None),
            }),
            committed: Condvar::new(),
            queued: AtomicUsize::new(0),
        }
    }

    pub(crate) fn run<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>,
        writes: &AtomicU64,
    ) -> Result<R, E> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut st = self.state.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if st.open.is_none() {
            run(&st.conn, "BEGIN IMMEDIATE").map_err(StoreError::from)?;
            st.versions.set(None);
            st.last_group += 1;
            st.open = Some(st.last_group);
            st.jobs_in_group = 0;
        }
        let group = st.open.expect("open group");
        run(&st.conn, "SAVEPOINT job").map_err(StoreError::from)?;
        // A panic in `f` is caught here so that it undoes only its own unit:
        // the group is still finished below and every waiter answered, and
        // only then does the panic continue to the caller.
        let mut panicked = None;
        let started = std::time::Instant::now();
        let versions_before = st.versions.get();
        let result = {
            let mut job = Job { conn: &st.conn, done: false };
            let mut t = Tx { inner: TxInner::Sqlite(job.conn), versions: Some(&st.versions) };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut t)));
            drop(t);
            match r {
                Ok(Ok(out)) => match run(job.conn, "RELEASE job") {
                    Ok(()) => {
                        job.done = true;
                        Ok(out)
                    }
                    Err(e) => Err(StoreError::from(e).into()),
                },
                Ok(Err(e)) => Err(e),
                Err(payload) => {
                    panicked = Some(payload);
                    Err(StoreError::Other("the unit of work panicked".into()).into())
                }
            }
        };
        // A unit rolled back wrote no row: its row versions are free again,
        // as they were when the counter was a row it updated.
        if result.is_err() {
            st.versions.set(versions_before);
        }
        if started.elapsed() > SLOW_UNIT {
            tracing::warn!(ms = started.elapsed().as_millis() as u64, "a write held the writer for long");
        }
        let result = match panicked {
            Some(payload) => {
                self.finish_after_panic(st, group);
                std::panic::resume_unwind(payload);
            }
            None => result,
        };
        // SQLite may have rolled the whole transaction back (I/O errors,
        // out of memory): then the group is lost for everyone in it.
        if st.conn.is_autocommit() {
            st.open = None;
            st.versions.set(None);
            st.failed = Some((group, "the transaction was rolled back by the database".into()));
            st.finished_upto = group;
            self.committed.notify_all();
            return match result {
                Ok(_) => Err(StoreError::Other("the write could not be committed; retry the request".into()).into()),
                Err(e) => Err(e),
            };
        }
        st.jobs_in_group += 1;
        let commit_now = self.queued.load(Ordering::SeqCst) == 0 || st.jobs_in_group >= MAX_GROUP;
        if commit_now {
            let err = st.finish();
            self.committed.notify_all();
            writes.fetch_add(st.jobs_in_group as u64, Ordering::Relaxed);
            return match (result, err) {
                (Ok(out), None) => Ok(out),
                (Ok(_), Some(e)) => Err(StoreError::Other(format!("commit failed: {e}")).into()),
                (Err(e), _) => Err(e),
            };
        }
        let out = result?;
        // Someone queued behind us continues the group and commits it.
        while st.finished_upto < group {
            self.committed.wait(&mut st);
        }
        if let Some((g, e)) = &st.failed {
            if *g == group {
                return Err(StoreError::Other(format!("commit failed: {e}")).into());
            }
        }
        Ok(out)
    }

    /// Runs `f` while holding the writer between groups, so that no write
    /// transaction is open or starts meanwhile; `None` when a group is
    /// open (its waiters are about to continue it).
    pub(crate) fn while_idle<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        let st = self.state.lock();
        if st.open.is_some() {
            return None;
        }
        Some(f())
    }

    /// After a unit panicked (its savepoint already rolled back): commits the
    /// group if nobody is queued to continue it, so the group's other units
    /// are answered and the write lock is not left held.
    fn finish_after_panic(&self, mut st: parking_lot::MutexGuard<'_, State>, group: u64) {
        if st.conn.is_autocommit() {
            st.open = None;
            st.versions.set(None);
            st.failed = Some((group, "the transaction was rolled back by the database".into()));
            st.finished_upto = group;
        } else if self.queued.load(Ordering::SeqCst) == 0 {
            if let Some(e) = st.finish() {
                tracing::error!(error = %e, "commit after a panicking unit of work failed");
            }
        }
        self.committed.notify_all();
    }
}

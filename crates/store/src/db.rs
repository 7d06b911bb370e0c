//! Connection pools and transactions over SQLite or PostgreSQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use relata_metadata::Value;

use crate::sql::{Param, Storage};
use crate::{pg, sqlite, Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions { max_connections: 16, connect_timeout: Duration::from_secs(5) }
    }
}

enum Pool {
    Sqlite(r2d2::Pool<sqlite::Manager>),
    Postgres(r2d2::Pool<pg::Manager>),
}

/// A database: a pool of connections and the backend they speak.
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// SQLite has one writer: all writes of this process go through one
    /// connection, queued here. Queueing is fairer than the busy handler, and
    /// the writer's page cache stays warm (a connection's cache is reset
    /// whenever another connection has written).
    writer: Option<std::sync::Arc<crate::group::Writer>>,
    sqlite_path: Option<PathBuf>,
    /// Writes since SQLite's planner statistics were refreshed.
    writes_since_analyze: std::sync::atomic::AtomicU64,
    /// Tells the SQLite checkpointer thread to stop.
    closing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Db {
    fn drop(&mut self) {
        self.closing.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Copies the WAL back into the database file in the background, so
/// commits never pay for a checkpoint. Most of the copying runs beside the
/// writer (PASSIVE never blocks it). But under a steady stream of writes a
/// checkpoint never catches up with the frames appended meanwhile, and the
/// WAL can only start over once one has: so when the WAL has grown past
/// [`WAL_RESTART_FRAMES`], a second pass runs while the writer is idle and
/// held, copying just what arrived since the first pass and syncing the file
/// (mostly the fsync: 3–70 ms on this class of disk, the longest pause
/// writes see), and the next write starts the WAL from its beginning.
fn spawn_checkpointer(
    path: PathBuf,
    writer: std::sync::Arc<crate::group::Writer>,
    closing: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let _ = std::thread::Builder::new().name("relata-checkpoint".into()).spawn(move || {
        let Ok(conn) = sqlite::open(&path, sqlite::Role::Checkpointer) else { return };
        // RESTART waits for the readers still on the old WAL, while the
        // writer is held. They finish within a millisecond or two, so poll
        // finely (SQLite's own handler sleeps 1, 2, 5, 10… ms) and give up
        // after 10 ms, to try again at the next tick.
        let _ = conn.busy_handler(Some(|attempt: i32| {
            std::thread::sleep(Duration::from_micros(100));
            attempt < 100
        }));
        let checkpoint = |conn: &rusqlite::Connection| -> rusqlite::Result<(i64, i64)> {
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))
        };
        while !closing.load(std::sync::atomic::Ordering::Acquire) {
            std::thread::sleep(CHECKPOINT_EVERY);
            let mut pass = checkpoint(&conn);
            // A reader on an older snapshot stops the copy short; reads are
            // short, so a few quick passes more usually catch up.
            for _ in 0..CATCH_UP_PASSES {
                match pass {
                    Ok((frames, copied)) if frames >= WAL_RESTART_FRAMES && frames - copied > HELD_COPY_FRAMES => {
                        std::thread::sleep(Duration::from_millis(2));
                        pass = checkpoint(&conn);
                    }
                    _ => break,
                }
            }
            match pass {
                // Holding the writer is worth it only when little is left to
                // copy (the usual case) or the WAL has grown far too long.
                Ok((frames, copied))
                    if frames >= WAL_RESTART_FRAMES
                        && (frames - copied <= HELD_COPY_FRAMES || frames >= WAL_FORCE_FRAMES) =>
                {
                    let held = writer.while_idle(|| {
                        let started = std::time::Instant::now();
                        (conn.execute_batch("PRAGMA wal_checkpoint(RESTART)"), started.elapsed())
                    });
                    match held {
                        Some((Err(e), _)) => tracing::debug!(error = %e, "WAL restart skipped"),
                        Some((Ok(()), took)) if took > SLOW_HELD_CHECKPOINT => {
                            tracing::warn!(
                                frames,
                                copied,
                                ms = took.as_millis() as u64,
                                "slow WAL checkpoint held the writer"
                            )
                        }
                        Some((Ok(()), took)) => {
                            tracing::debug!(
                                frames,
                                copied,
                                ms = took.as_millis() as u64,
                                "WAL checkpointed for a restart"
                            )
                        }
                        None => {}
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "WAL checkpoint skipped"),
            }
        }
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    });
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
const CATCH_UP_PASSES: usize = 5;
const SLOW_HELD_CHECKPOINT: Duration = Duration::from_millis(100);
/// 4,000 frames of 4 KiB: the WAL stays near 16 MB.
const WAL_RESTART_FRAMES: i64 = 4000;
/// At most this much (4 MB) is copied while the writer is held...
const HELD_COPY_FRAMES: i64 = 1000;
/// ...unless the WAL has reached 128 MB without a restart.
const WAL_FORCE_FRAMES: i64 = 32000;

/// SQLite has no autovacuum-style statistics: after this many writes the
/// planner's statistics are stale and the scheduled statistics job
/// refreshes them, so the planner keeps choosing the right index.
const SQLITE_STALE_AFTER_WRITES: u64 = 5000;
/// Autovacuum analyzes eventually; after bulk loads the planner needs
/// statistics sooner than that.
const PG_STALE_AFTER_WRITES: u64 = 20_000;

/// SQLite readers: a read is CPU work on this machine's cores (the page
/// cache is shared by the operating system), so more readers than cores
/// add memory and context switches, not throughput. Two per core, plus two
/// so a slow read does not hold up the rest.
fn sqlite_readers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    (2 * cores + 2).max(4)
}

#[derive(Debug, Clone, Copy)]
pub struct PoolStatus {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
}

impl Db {
    /// Opens (creating if needed) an SQLite database file.
    pub fn open_sqlite(path: &Path, opts: &DbOptions) -> Result<Db> {
        // The writer opens first: "cannot open" becomes one clear error
        // instead of a pool time-out.
        let writer = sqlite::open(path, sqlite::Role::Writer)?;
        // After the WAL starts over its file keeps its size; this trims it.
        writer.execute_batch("PRAGMA journal_size_limit = 67108864")?;
        let writer = std::sync::Arc::new(crate::group::Writer::new(writer));
        let pool = r2d2::Pool::builder()
            .max_size(opts.max_connections.min(sqlite_readers()))
            .min_idle(Some(1))
            .connection_timeout(opts.connect_timeout)
            .build(sqlite::Manager { path: path.to_path_buf() })?;
        let closing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        spawn_checkpointer(path.to_path_buf(), writer.clone(), closing.clone());
        let db = Db {
            pool: Pool::Sqlite(pool),
            backend: Backend::Sqlite,
            writer: Some(writer),
            sqlite_path: Some(path.into()),
            writes_since_analyze: Default::default(),
            closing,
        };
        db.analyze()?;
        Ok(db)
    }

    /// Connects to PostgreSQL (`postgres://user@host:port/db`).
    pub fn open_postgres(url: &str, opts: &DbOptions) -> Result<Db> {
        let config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
        let mut config = config;
        config.connect_timeout(opts.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("relata");
        }
        // Fail fast with the driver's reason instead of a pool timeout.
        pg::Manager::connect(&config)?;
        let pool = r2d2::Pool::builder()
            .max_size(opts.max_connections)
            .min_idle(Some(1))
            .connection_timeout(opts.connect_timeout)
            .build(pg::Manager { config })?;
        Ok(Db {
            pool: Pool::Postgres(pool),
            backend: Backend::Postgres,
            writer: None,
            sqlite_path: None,
            writes_since_analyze: Default::default(),
            closing: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Refreshes the query planner's statistics (SQLite; PostgreSQL's
    /// autovacuum does this itself).
    pub fn analyze(&self) -> Result<()> {
        if let Pool::Sqlite(pool) = &self.pool {
            pool.get()?.conn.execute_batch(crate::sqlite::ANALYZE)?;
        }
        Ok(())
    }

    /// Writes this process committed since the planner statistics were
    /// last refreshed.
    pub fn writes_since_statistics(&self) -> u64 {
        self.writes_since_analyze.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Have enough writes gone by that the statistics need a refresh?
    pub fn statistics_stale(&self) -> bool {
        let limit = match self.backend {
            Backend::Sqlite => SQLITE_STALE_AFTER_WRITES,
            Backend::Postgres => PG_STALE_AFTER_WRITES,
        };
        self.writes_since_statistics() >= limit
    }

    /// The statements that refresh the statistics inside a write
    /// transaction (the statistics job's); call
    /// [`Db::statistics_refreshed`] after it commits.
    pub fn statistics_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => crate::sqlite::ANALYZE,
            Backend::Postgres => "ANALYZE",
        }
    }

    pub fn statistics_refreshed(&self) {
        self.writes_since_analyze.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite_path.as_deref()
    }

    pub fn pool_status(&self) -> PoolStatus {
        let (state, max) = match &self.pool {
            Pool::Sqlite(p) => (p.state(), p.max_size()),
            Pool::Postgres(p) => (p.state(), p.max_size()),
        };
        PoolStatus { connections: state.connections, idle: state.idle_connections, max }
    }

    /// Runs `f` in a read-write transaction; commits if it returns Ok.
    pub fn write<R, E: From<StoreError>>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>) -> Result<R, E> {
        self.run(true, f)
    }

    /// Runs `f` in a transaction that sees one consistent snapshot.
    pub fn read<R, E: From<StoreError>>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>) -> Result<R, E> {
        self.run(false, f)
    }

    fn run<R, E: From<StoreError>>(&self, write: bool, f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>) -> Result<R, E> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                if write {
                    let writer = self.writer.as_ref().expect("SQLite databases have a writer");
                    return writer.run(f, &self.writes_since_analyze);
                }
                let mut reader = pool.get().map_err(StoreError::from)?;
                let conn = &mut reader.conn;
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
                    .map_err(StoreError::from)?;
                let mut t = Tx { inner: TxInner::Sqlite(&tx), versions: None };
                let out = f(&mut t)?;
                drop(t);
                tx.commit().map_err(StoreError::from)?;
                Ok(out)
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.get().map_err(StoreError::from)?;
                conn.last_used = std::time::Instant::now();
                let pg::Conn { client, statements, .. } = &mut *conn;
                if !write {
                    // READ COMMITTED gives each statement its own snapshot
                    // anyway, so reads skip BEGIN/COMMIT and their round trips.
                    let mut t = Tx { inner: TxInner::PostgresAuto { client, statements }, versions: None };
                    return f(&mut t);
                }
                let out = {
                    let tx = client.build_transaction().start().map_err(StoreError::from)?;
                    let mut t = Tx { inner: TxInner::Postgres { tx, statements }, versions: None };
                    let out = f(&mut t)?;
                    let TxInner::Postgres { tx, .. } = t.inner else { unreachable!() };
                    tx.commit().map_err(StoreError::from)?;
                    out
                };
                self.writes_since_analyze.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(out)
            }
        }
    }

    /// Copies the SQLite database to `dest` while it is in use (online backup).
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let reader = pool.get()?;
                let mut out = rusqlite::Connection::open(dest)?;
                let backup = rusqlite::backup::Backup::new(&reader.conn, &mut out)?;
                backup.run_to_completion(256, Duration::from_millis(5), None)?;
                Ok(())
            }
            Pool::Postgres(_) => {
                Err(StoreError::Other("online backup of PostgreSQL is done with pg_dump; see the README".into()))
            }
        }
    }
}

pub(crate) enum TxInner<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres { tx: postgres::Transaction<'c>, statements: &'c mut HashMap<String, postgres::Statement> },
    PostgresAuto { client: &'c mut postgres::Client, statements: &'c mut HashMap<String, postgres::Statement> },
}

/// One open transaction.
pub struct Tx<'c> {
    pub(crate) inner: TxInner<'c>,
    /// SQLite's writer: the last row version handed out in the open
    /// transaction (`None` until one is asked for), written back to
    /// `relata_counter` when it commits (see `group.rs`).
    pub(crate) versions: Option<&'c std::cell::Cell<Option<i64>>>,
}

impl Tx<'_> {
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres { .. } | TxInner::PostgresAuto { .. } => Backend::Postgres,
        }
    }

    /// Executes a statement; returns the number of rows changed.
    pub fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => sqlite::execute(tx, sql, params),
            TxInner::Postgres { tx, statements } => pg::execute(tx, statements, sql, params),
            TxInner::PostgresAuto { client, statements } => pg::execute(*client, statements, sql, params),
        }
    }

    /// Runs a query and decodes each column with its storage.
    pub fn query(&mut self, sql: &str, params: &[Param], columns: &[Storage]) -> Result<Vec<Vec<Value>>> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => sqlite::query(tx, sql, params, columns),
            TxInner::Postgres { tx, statements } => pg::query(tx, statements, sql, params, columns),
            TxInner::PostgresAuto { client, statements } => pg::query(*client, statements, sql, params, columns),
        }
    }

    /// Runs DDL or several statements without parameters.
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            TxInner::Postgres { tx, statements } => {
                // Cached plans may not survive DDL.
                statements.clear();
                Ok(tx.batch_execute(sql)?)
            }
            TxInner::PostgresAuto { client: tx, statements } => {
                // Cached plans may not survive DDL.
                statements.clear();
                Ok(tx.batch_execute(sql)?)
            }
        }
    }

    /// Marks a savepoint: what is written after it can be rolled back
    /// alone ([`Tx::rollback_savepoint`]) while the transaction goes on, so
    /// a bulk operation skips the record that failed instead of losing the
    /// others. Savepoints nest.
    pub fn savepoint(&mut self) -> Result<()> {
        self.control("SAVEPOINT relata_item")
    }

    /// Keeps what was written since the last savepoint.
    pub fn release_savepoint(&mut self) -> Result<()> {
        self.control("RELEASE SAVEPOINT relata_item")
    }

    /// Undoes what was written since the last savepoint.
    pub fn rollback_savepoint(&mut self) -> Result<()> {
        self.control("ROLLBACK TO SAVEPOINT relata_item; RELEASE SAVEPOINT relata_item")
    }

    /// Transaction control text; unlike [`Tx::batch`] it keeps the cached
    /// statement plans, which a savepoint does not invalidate.
    fn control(&mut self, sql: &str) -> Result<()> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            TxInner::Postgres { tx, .. } => Ok(tx.batch_execute(sql)?),
            TxInner::PostgresAuto { client, .. } => Ok(client.batch_execute(sql)?),
        }
    }

    pub fn query_one(&mut self, sql: &str, params: &[Param], columns: &[Storage]) -> Result<Option<Vec<Value>>> {
        Ok(self.query(sql, params, columns)?.into_iter().next())
    }

    /// Advances a named counter and returns its new value.
    pub fn next_counter(&mut self, name: &str) -> Result<i64> {
        if name == "rowversion" && self.backend() == Backend::Postgres {
            // A sequence hands out row versions without holding a row lock
            // until commit, so concurrent writers do not queue on it.
            let row = self.query_one("SELECT nextval('relata_rowversion')", &[], &[Storage::BigInt])?;
            return row
                .and_then(|r| r.into_iter().next())
                .and_then(|v| v.as_i64())
                .ok_or_else(|| StoreError::Other("the row version sequence is missing".into()));
        }
        if let (true, Some(versions)) = (name == "rowversion", self.versions) {
            // SQLite has one writer, so the open transaction may count in
            // memory: no UPDATE per row; the count is written back before
            // COMMIT. A unit rolled back leaves a gap, never a repeat.
            let last = match versions.get() {
                Some(v) => v,
                None => self.counter(name)?,
            };
            versions.set(Some(last + 1));
            return Ok(last + 1);
        }
        let row = self.query_one(
            "UPDATE relata_counter SET value = value + 1 WHERE name = $1 RETURNING value",
            &[Param::text(name)],
            &[Storage::BigInt],
        )?;
        match row.and_then(|r| r.into_iter().next()) {
            Some(Value::Int(v)) => Ok(v),
            _ => Err(StoreError::Other(format!("counter '{name}' is missing"))),
        }
    }

    /// `n` row versions at once: one round trip on PostgreSQL for a
    /// whole batch of writes.
    pub fn next_row_versions(&mut self, n: usize) -> Result<Vec<i64>> {
        if self.backend() == Backend::Postgres && n > 1 {
            let rows = self.query(
                "SELECT nextval('relata_rowversion') FROM generate_series(1, $1)",
                &[Param::int(n as i64)],
                &[Storage::BigInt],
            )?;
            let versions: Vec<i64> = rows.into_iter().filter_map(|r| r.into_iter().next()?.as_i64()).collect();
            if versions.len() != n {
                return Err(StoreError::Other("the row version sequence is missing".into()));
            }
            return Ok(versions);
        }
        (0..n).map(|_| self.next_counter("rowversion")).collect()
    }

    /// Holds a counter's row until the transaction ends, so that
    /// transactions that take it run one after another (PostgreSQL; a
    /// SQLite write transaction runs alone anyway).
    pub fn lock_counter(&mut self, name: &str) -> Result<()> {
        if self.backend() == Backend::Postgres {
            self.query(
                "SELECT value FROM relata_counter WHERE name = $1 FOR UPDATE",
                &[Param::text(name)],
                &[Storage::BigInt],
            )?;
        }
        Ok(())
    }

    pub fn counter(&mut self, name: &str) -> Result<i64> {
        let row = self.query_one(
            "SELECT value FROM relata_counter WHERE name = $1",
            &[Param::text(name)],
            &[Storage::BigInt],
        )?;
        Ok(row.and_then(|r| r.into_iter().next()).and_then(|v| v.as_i64()).unwrap_or(0))
    }

    /// Existing column names of a table (empty if the table does not exist).
    pub fn table_columns(&mut self, table: &str) -> Result<Vec<String>> {
        let rows = match self.backend() {
            Backend::Sqlite => self.query(
                "SELECT name FROM pragma_table_info($1)",
                &[Param::text(table)],
                &[Storage::Text],
            )?,
            Backend::Postgres => self.query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
                &[Param::text(table)],
                &[Storage::Text],
            )?,
        };
        Ok(rows.into_iter().filter_map(|r| r.into_iter().next().and_then(|v| v.as_str().map(str::to_string))).collect())
    }

    /// Names of the indexes in the current schema.
    pub fn index_names(&mut self) -> Result<Vec<String>> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index'",
            Backend::Postgres => "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()",
        };
        let rows = self.query(sql, &[], &[Storage::Text])?;
        Ok(rows.into_iter().filter_map(|r| r.into_iter().next().and_then(|v| v.as_str().map(str::to_string))).collect())
    }
}

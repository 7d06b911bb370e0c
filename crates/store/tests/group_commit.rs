//! Group commit on SQLite: concurrent writers share commits, yet each unit
//! of work commits or rolls back on its own.

use std::sync::Arc;

use relata_store::{Db, DbOptions, Param, Storage, StoreError};

#[test]
fn concurrent_writes_commit_or_fail_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open_sqlite(&dir.path().join("g.db"), &DbOptions::default()).unwrap());
    db.write(|tx| tx.batch("CREATE TABLE item (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL)")).unwrap();

    let threads: Vec<_> = (0..8)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut ok = 0;
                for i in 0..200i64 {
                    // Every fifth unit writes a row and then fails: nothing of it may remain.
                    let fail = i % 5 == 0;
                    let r = db.write(|tx| -> Result<(), StoreError> {
                        tx.execute(
                            "INSERT INTO item (id, owner) VALUES ($1, $2)",
                            &[Param::bigint(t * 1000 + i), Param::bigint(t)],
                        )?;
                        if fail {
                            // A duplicate key: the database rejects this unit.
                            tx.execute(
                                "INSERT INTO item (id, owner) VALUES ($1, $2)",
                                &[Param::bigint(t * 1000 + i), Param::bigint(t)],
                            )?;
                        }
                        Ok(())
                    });
                    match (fail, r) {
                        (false, Ok(())) => ok += 1,
                        (true, Err(StoreError::Duplicate(_))) => {}
                        (f, other) => panic!("unit {t}/{i} (fail={f}) ended with {other:?}"),
                    }
                }
                ok
            })
        })
        .collect();
    let committed: i64 = threads.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(committed, 8 * 160);
    let rows = db
        .read(|tx| {
            tx.query("SELECT COUNT(*), COUNT(DISTINCT owner) FROM item", &[], &[Storage::BigInt, Storage::BigInt])
        })
        .unwrap();
    assert_eq!(rows[0][0].as_i64(), Some(committed), "exactly the successful units are stored");
    assert_eq!(rows[0][1].as_i64(), Some(8));
    let failed_rows =
        db.read(|tx| tx.query("SELECT COUNT(*) FROM item WHERE id % 1000 % 5 = 0", &[], &[Storage::BigInt])).unwrap();
    assert_eq!(failed_rows[0][0].as_i64(), Some(0), "failed units left nothing behind");
}

#[test]
fn a_write_is_visible_to_readers_once_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open_sqlite(&dir.path().join("v.db"), &DbOptions::default()).unwrap());
    db.write(|tx| tx.batch("CREATE TABLE seen (id INTEGER PRIMARY KEY)")).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..100i64 {
                    let id = t * 1000 + i;
                    db.write(|tx| tx.execute("INSERT INTO seen (id) VALUES ($1)", &[Param::bigint(id)]).map(|_| ()))
                        .unwrap();
                    let found = db
                        .read(|tx| {
                            tx.query("SELECT id FROM seen WHERE id = $1", &[Param::bigint(id)], &[Storage::BigInt])
                        })
                        .unwrap();
                    assert_eq!(found.len(), 1, "write {id} not visible after it returned");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
}

/// A unit of work that panics after the unit before it has finished and is
/// waiting for the group's commit: the waiter must still be answered, its row
/// committed, the panicking unit's row absent, and the write lock released.
#[test]
fn a_panicking_unit_rolls_back_alone_and_the_group_still_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let db = Arc::new(Db::open_sqlite(&path, &DbOptions::default()).unwrap());
    db.write(|tx| tx.batch("CREATE TABLE item (id INTEGER PRIMARY KEY)")).unwrap();

    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let waiter = {
        let db = db.clone();
        std::thread::spawn(move || {
            let r = db.write(|tx| -> Result<(), StoreError> {
                tx.execute("INSERT INTO item (id) VALUES (1)", &[])?;
                started_tx.send(()).unwrap();
                // Long enough for the panicking unit to queue behind this one,
                // so this unit leaves the commit to it.
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok(())
            });
            done_tx.send(r).unwrap();
        })
    };
    started_rx.recv().unwrap();
    let panicker = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.write(|tx| -> Result<(), StoreError> {
                tx.execute("INSERT INTO item (id) VALUES (2)", &[])?;
                panic!("injected panic in a unit of work");
            })
        })
    };
    assert!(panicker.join().is_err(), "the panic reaches the caller that caused it");
    let answered = done_rx.recv_timeout(std::time::Duration::from_secs(5));
    assert!(matches!(answered, Ok(Ok(()))), "the unit waiting for the group's commit was answered: {answered:?}");
    waiter.join().unwrap();

    let ids = db.read(|tx| tx.query("SELECT id FROM item ORDER BY id", &[], &[Storage::BigInt])).unwrap();
    let ids: Vec<_> = ids.iter().map(|r| r[0].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![1], "the waiter's row is committed and the panicking unit's row is not");

    // Another process can take the write lock: nothing is left open.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.busy_timeout(std::time::Duration::from_millis(500)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; INSERT INTO item (id) VALUES (3); COMMIT").unwrap();
    db.write(|tx| tx.execute("INSERT INTO item (id) VALUES (4)", &[]).map(|_| ())).unwrap();
}

/// Panics injected at random into concurrent writers: every other unit is
/// answered promptly and committed, no panicking unit leaves a row, and the
/// database stays writable from outside.
#[test]
fn panics_under_concurrent_writers_lose_nothing_and_hold_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let db = Arc::new(Db::open_sqlite(&path, &DbOptions::default()).unwrap());
    db.write(|tx| tx.batch("CREATE TABLE item (id INTEGER PRIMARY KEY, panicked INTEGER NOT NULL)")).unwrap();
    let (tx_done, rx_done) = std::sync::mpsc::channel();
    for t in 0..8i64 {
        let db = db.clone();
        let tx_done = tx_done.clone();
        std::thread::spawn(move || {
            for i in 0..150i64 {
                let id = t * 1000 + i;
                let panics = (id * 7919) % 11 == 0;
                let started = std::time::Instant::now();
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    db.write(|tx| -> Result<(), StoreError> {
                        tx.execute(
                            "INSERT INTO item (id, panicked) VALUES ($1, $2)",
                            &[Param::bigint(id), Param::bigint(panics as i64)],
                        )?;
                        if panics {
                            panic!("injected panic {id}");
                        }
                        Ok(())
                    })
                }));
                tx_done.send((id, panics, r.map_err(|_| ()).map(|r| r.is_ok()), started.elapsed())).unwrap();
            }
        });
    }
    drop(tx_done);
    let mut answered = 0;
    let mut slowest = std::time::Duration::ZERO;
    loop {
        match rx_done.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok((id, panics, outcome, took)) => {
                answered += 1;
                slowest = slowest.max(took);
                match (panics, outcome) {
                    (true, Err(())) | (false, Ok(true)) => {}
                    other => panic!("unit {id}: unexpected outcome {other:?}"),
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("a writer was not answered within 10 s ({answered} answered): {e}"),
        }
    }
    assert_eq!(answered, 8 * 150);
    assert!(slowest < std::time::Duration::from_secs(5), "slowest write took {slowest:?}");
    let rows = db
        .read(|tx| {
            tx.query("SELECT COUNT(*), COALESCE(SUM(panicked), 0) FROM item", &[], &[Storage::BigInt, Storage::BigInt])
        })
        .unwrap();
    let expected = (0..8i64).flat_map(|t| (0..150i64).map(move |i| t * 1000 + i)).filter(|id| (id * 7919) % 11 != 0);
    assert_eq!(rows[0][0].as_i64(), Some(expected.count() as i64));
    assert_eq!(rows[0][1].as_i64(), Some(0), "no panicking unit left a row");
    let other = rusqlite::Connection::open(&path).unwrap();
    other.busy_timeout(std::time::Duration::from_millis(500)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; COMMIT").unwrap();
}

/// On PostgreSQL a panicking unit's transaction is rolled back and its
/// connection goes back to the pool usable.
#[test]
fn a_panicking_unit_on_postgres_rolls_back_and_frees_its_connection() {
    let Ok(url) = std::env::var("RELATA_TEST_POSTGRES_URL") else {
        eprintln!("RELATA_TEST_POSTGRES_URL is not set: PostgreSQL case not run");
        return;
    };
    let opts = DbOptions { max_connections: 2, ..DbOptions::default() };
    let db = Db::open_postgres(&url, &opts).expect("RELATA_TEST_POSTGRES_URL is set but unreachable");
    let table = format!("panic_item_{}", std::process::id());
    db.write(|tx| tx.batch(&format!("DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id BIGINT PRIMARY KEY)")))
        .unwrap();
    for i in 0..6i64 {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            db.write(|tx| -> Result<(), StoreError> {
                tx.execute(&format!("INSERT INTO {table} (id) VALUES ($1)"), &[Param::bigint(i)])?;
                panic!("injected panic {i}");
            })
        }));
        assert!(r.is_err());
    }
    db.write(|tx| tx.execute(&format!("INSERT INTO {table} (id) VALUES (100)"), &[]).map(|_| ())).unwrap();
    let rows = db.read(|tx| tx.query(&format!("SELECT id FROM {table}"), &[], &[Storage::BigInt])).unwrap();
    assert_eq!(rows.len(), 1, "only the unit that did not panic left a row");
    assert_eq!(rows[0][0].as_i64(), Some(100));
    db.write(|tx| tx.batch(&format!("DROP TABLE {table}"))).unwrap();
}

/// A write is on disk before it is answered: the writer syncs every commit.
#[test]
fn writes_are_synced_before_they_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite(&dir.path().join("s.db"), &DbOptions::default()).unwrap();
    let level = db.write(|tx| tx.query("PRAGMA synchronous", &[], &[Storage::BigInt])).unwrap();
    assert_eq!(level[0][0].as_i64(), Some(2), "the writer runs synchronous = FULL");
}

/// Under writes that never pause and reads that never pause, a checkpoint
/// never catches up by itself and the WAL would grow without end (up to
/// the writer's 256 MB backstop); the checkpointer must still bring it
/// back to its start.
#[test]
fn the_wal_starts_over_under_steady_reads_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let db = Arc::new(Db::open_sqlite(&path, &DbOptions::default()).unwrap());
    db.write(|tx| tx.batch("CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB)")).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                // Short reads, as requests make: the latest row by key.
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    db.read(|tx| {
                        tx.query(
                            "SELECT length(b) FROM big WHERE id = (SELECT MAX(id) FROM big)",
                            &[],
                            &[Storage::BigInt],
                        )
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    // 300 units of 100 pages each: 120 MB through the WAL.
    for _ in 0..300 {
        db.write(|tx| {
            tx.batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
                 INSERT INTO big (b) SELECT randomblob(3900) FROM n",
            )
        })
        .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    readers.into_iter().for_each(|r| r.join().unwrap());
    let wal = std::fs::metadata(dir.path().join("w.db-wal")).map(|m| m.len()).unwrap_or(0);
    assert!(wal < 80 << 20, "the WAL grew to {} MB instead of starting over", wal >> 20);
    let rows = db.read(|tx| tx.query("SELECT COUNT(*) FROM big", &[], &[Storage::BigInt])).unwrap();
    assert_eq!(rows[0][0].as_i64(), Some(30_000));
}

#[test]
fn row_versions_never_repeat_across_writers_failed_units_and_processes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    // Two handles on one file: two processes sharing the database.
    let dbs = [
        Arc::new(Db::open_sqlite(&path, &DbOptions::default()).unwrap()),
        Arc::new(Db::open_sqlite(&path, &DbOptions::default()).unwrap()),
    ];
    dbs[0]
        .write(|tx| {
            tx.batch(
                "CREATE TABLE stamp (version INTEGER NOT NULL);
                 CREATE TABLE IF NOT EXISTS relata_counter (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
                 INSERT INTO relata_counter (name, value) VALUES ('rowversion', 0);",
            )
        })
        .unwrap();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let db = dbs[t % 2].clone();
            std::thread::spawn(move || {
                for i in 0..150 {
                    let _ = db.write(|tx| -> Result<(), StoreError> {
                        for _ in 0..3 {
                            let v = tx.next_counter("rowversion")?;
                            tx.execute("INSERT INTO stamp (version) VALUES ($1)", &[Param::bigint(v)])?;
                        }
                        // Every fourth unit fails after taking its versions.
                        if i % 4 == 0 {
                            return Err(StoreError::Other("refused".into()));
                        }
                        Ok(())
                    });
                }
            })
        })
        .collect();
    for h in threads {
        h.join().unwrap();
    }
    let rows = dbs[1]
        .read(|tx| {
            tx.query(
                "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version), \
                 (SELECT value FROM relata_counter WHERE name = 'rowversion') FROM stamp",
                &[],
                &[Storage::BigInt, Storage::BigInt, Storage::BigInt, Storage::BigInt],
            )
        })
        .unwrap();
    let [count, distinct, max, counter] = [0, 1, 2, 3].map(|i| rows[0][i].as_i64().unwrap());
    // 112 of each thread's 150 units commit, three stamps each.
    assert_eq!(count, 6 * 112 * 3, "the committed units' stamps");
    assert_eq!(distinct, count, "a row version was handed out twice");
    assert!(counter >= max, "the counter ({counter}) is behind a version in use ({max})");
}

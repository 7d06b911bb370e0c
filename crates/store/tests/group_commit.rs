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

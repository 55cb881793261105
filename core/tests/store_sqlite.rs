//! The study store on SQLite: every shared scenario, plus what only a local file has: creation
//! and settings, refusing (and not touching) files that are not raddraft databases, and two
//! processes importing into one file.

#[macro_use]
mod store_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use raddraft_core::store::{DbLocation, Store, StoreError, SQLITE_APPLICATION_ID};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use store_support::{image, TestDb};

backend_scenarios!(sqlite_db);

async fn sqlite_db() -> TestDb {
    TestDb::sqlite()
}

fn sqlite_path(db: &TestDb) -> &Path {
    db.location.sqlite_path().expect("a SQLite location")
}

/// The file's bytes and which of its `-wal`/`-shm`/`-journal` side files exist.
fn snapshot(path: &Path) -> (Vec<u8>, Vec<PathBuf>) {
    let bytes = std::fs::read(path).unwrap();
    let side_files = ["-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", path.display())))
        .filter(|side| side.exists())
        .collect();
    (bytes, side_files)
}

/// Opening `path` fails as `expected` says and leaves it byte-for-byte as it was.
async fn assert_refused_untouched(path: &Path, expected: fn(&StoreError) -> bool) -> StoreError {
    let before = snapshot(path);
    let error = match Store::open(&DbLocation::Sqlite(path.to_owned())).await {
        Ok(_) => panic!("{} was opened", path.display()),
        Err(error) => error,
    };
    assert!(expected(&error), "unexpected error: {error}");
    let after = snapshot(path);
    assert!(before.0 == after.0, "{} was modified", path.display());
    assert_eq!(
        after.1,
        Vec::<PathBuf>::new(),
        "side files were left behind"
    );
    error
}

#[test]
fn locations_parse() {
    assert_eq!(
        DbLocation::parse("/data/rad.db").unwrap(),
        DbLocation::Sqlite("/data/rad.db".into())
    );
    assert_eq!(
        DbLocation::parse("sqlite:///data/rad.db").unwrap(),
        DbLocation::Sqlite("/data/rad.db".into())
    );
    assert_eq!(
        DbLocation::parse("sqlite:rad.db").unwrap(),
        DbLocation::Sqlite("rad.db".into())
    );
    assert_eq!(
        DbLocation::parse("postgres://u@h/db").unwrap(),
        DbLocation::Postgres("postgres://u@h/db".into())
    );
    for bad in ["", "  ", "sqlite:", "mysql://h/db"] {
        assert!(
            matches!(
                DbLocation::parse(bad),
                Err(StoreError::InvalidLocation { .. })
            ),
            "{bad:?} was accepted"
        );
    }
    let default = DbLocation::default_sqlite().unwrap();
    let path = default.sqlite_path().unwrap();
    assert!(path.ends_with("raddraft/raddraft.db"), "{}", path.display());
}

#[tokio::test]
async fn new_database_is_created_with_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/raddraft.db");
    let store = Store::open(&DbLocation::Sqlite(path.clone()))
        .await
        .unwrap();
    let raddraft_core::store::DbPool::Sqlite(pool) = store.pool() else {
        unreachable!("a SQLite store")
    };
    let mut conn = pool.acquire().await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let number = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    let pragma = |name| number(name);
    assert_eq!(
        pragma("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        pragma("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        2,
        "FULL"
    );
    assert!(
        pragma("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            >= 5000
    );
    assert_eq!(
        pragma("PRAGMA application_id")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        i64::from(SQLITE_APPLICATION_ID)
    );
    drop(conn);
    store.close().await;

    // Closed, the write-ahead log is folded into the file and removed.
    let (header, side_files) = snapshot(&path);
    assert_eq!(side_files, Vec::<PathBuf>::new());
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!(
        i32::from_be_bytes(header[68..72].try_into().unwrap()),
        SQLITE_APPLICATION_ID
    );
}

#[tokio::test]
async fn empty_file_becomes_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("placeholder.db");
    std::fs::write(&path, b"").unwrap();
    let store = Store::open(&DbLocation::Sqlite(path.clone()))
        .await
        .unwrap();
    store.import_image(&image(1, 1)).await.unwrap();
    store.close().await;
    let header = std::fs::read(&path).unwrap();
    assert_eq!(
        i32::from_be_bytes(header[68..72].try_into().unwrap()),
        SQLITE_APPLICATION_ID
    );
}

#[tokio::test]
async fn file_that_is_not_a_database_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "FINDINGS: these are notes, not a database.\n".repeat(20),
    )
    .unwrap();
    let error =
        assert_refused_untouched(&path, |e| matches!(e, StoreError::NotADatabase { .. })).await;
    assert!(error.to_string().contains("notes.txt"), "{error}");
}

#[tokio::test]
async fn corrupt_database_is_left_untouched() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    for instance in 1..=50 {
        store.import_image(&image(1, instance)).await.unwrap();
    }
    store.close().await;
    let path = sqlite_path(&db);
    let mut bytes = std::fs::read(path).unwrap();
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    assert!(
        bytes.len() >= 4 * page_size,
        "the database spans several pages"
    );
    // Page 3 onwards is b-tree pages of the schema's tables; garbage there is corruption.
    bytes[2 * page_size..3 * page_size].fill(0xA5);
    std::fs::write(path, &bytes).unwrap();

    let error = assert_refused_untouched(path, |e| matches!(e, StoreError::Corrupt { .. })).await;
    assert!(error.to_string().contains("backup"), "{error}");
    db.finish().await;
}

#[tokio::test]
async fn other_applications_database_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let with_tables = dir.path().join("other.db");
    let mut conn = SqliteConnectOptions::new()
        .filename(&with_tables)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')")
        .await
        .unwrap();
    conn.close().await.unwrap();
    let error =
        assert_refused_untouched(&with_tables, |e| matches!(e, StoreError::Foreign { .. })).await;
    assert!(error.to_string().contains("other.db"), "{error}");

    let other_id = dir.path().join("other-id.db");
    let mut conn = SqliteConnectOptions::new()
        .filename(&other_id)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    conn.execute("PRAGMA application_id = 42").await.unwrap();
    conn.close().await.unwrap();
    assert_refused_untouched(&other_id, |e| matches!(e, StoreError::Foreign { .. })).await;
}

const WORKER_DB: &str = "RADDRAFT_STORE_TEST_WORKER_DB";
const WORKER_REVERSE: &str = "RADDRAFT_STORE_TEST_WORKER_REVERSE";
const WORKER_IMAGES: u32 = 60;

/// Two processes create the same new file and import the same images into it at once.
#[test]
fn two_processes_import_into_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let this_test_binary = std::env::current_exe().unwrap();
    // Both start before either is waited for.
    let workers: Vec<_> = [false, true]
        .into_iter()
        .map(|reverse| {
            Command::new(&this_test_binary)
                .args([
                    "import_worker_process",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                ])
                .env(WORKER_DB, &path)
                .env(WORKER_REVERSE, reverse.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut new_total = 0;
    for worker in workers {
        let output = worker.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "worker failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let new: u32 = stdout
            .lines()
            .find_map(|line| line.strip_prefix("imported-new: "))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or_else(|| panic!("worker printed no count: {stdout}"));
        new_total += new;
    }
    assert_eq!(new_total, WORKER_IMAGES);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::open(&DbLocation::Sqlite(path.clone()))
            .await
            .unwrap();
        let images = store_support::raw_count(&store, "SELECT COUNT(*) FROM images").await;
        assert_eq!(images, i64::from(WORKER_IMAGES));
        let chain = store.verify_audit_chain().await.unwrap();
        assert!(chain.is_intact(), "{:?}", chain.first_break);
        assert_eq!(chain.entries_checked, u64::from(WORKER_IMAGES));
        store.close().await;
    });
}

/// The child side of `two_processes_import_into_one_file` (does nothing when run by hand).
#[tokio::test]
#[ignore = "run as a child process by two_processes_import_into_one_file"]
async fn import_worker_process() {
    let Some(path) = std::env::var_os(WORKER_DB) else {
        println!("{WORKER_DB} is not set: nothing to do outside the parent test");
        return;
    };
    let reverse = std::env::var(WORKER_REVERSE).is_ok_and(|v| v == "true");
    let store = Store::open(&DbLocation::Sqlite(path.into())).await.unwrap();
    let mut order: Vec<_> = (1..=WORKER_IMAGES).map(|i| image(1 + i % 3, i)).collect();
    if reverse {
        order.reverse();
    }
    let mut new = 0;
    for image in &order {
        if store.import_image(image).await.unwrap().image_was_new {
            new += 1;
        }
    }
    store.close().await;
    println!("imported-new: {new}");
}

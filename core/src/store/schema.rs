//! Opening a database: checking an existing SQLite file before anything writes to it, connection
//! settings, and the embedded schema migrations (`core/migrations/{sqlite,postgres}`).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, SqliteConnection, SqlitePool};

use super::StoreError;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// `PRAGMA application_id` of every raddraft SQLite database: "RdDr" in ASCII.
pub const SQLITE_APPLICATION_ID: i32 = 0x5264_4472;

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Offset of the big-endian application id in the 100-byte SQLite header.
const APPLICATION_ID_OFFSET: usize = 68;
/// How long a writer waits for another process's transaction before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`close_sqlite`] waits for connections in use (200 × 10 ms).
const CLOSE_WAIT_STEPS: u32 = 200;
const CLOSE_WAIT_STEP: Duration = Duration::from_millis(10);
/// Another process creating the same new file can make the first migration attempt fail.
const MIGRATION_ATTEMPTS: u32 = 3;

/// What an existing path holds, judged without writing to it.
enum SqliteFile {
    /// Nothing there, an empty file, or a SQLite database with no schema at all: ours to create.
    Fresh,
    /// A raddraft database (our application id).
    Ours,
}

pub(crate) async fn open_sqlite(path: &Path) -> Result<SqlitePool, StoreError> {
    let state = inspect_sqlite_file(path).await?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
            path: parent.to_owned(),
            source,
        })?;
    }
    if let SqliteFile::Fresh = state {
        stamp_application_id(path).await?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let location = path.display().to_string();
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|source| sqlite_open_error(path, source))?;

    if let SqliteFile::Ours = state {
        if let Err(error) = check_own_sqlite(&pool, path).await {
            close_sqlite(pool).await;
            return Err(error);
        }
    }
    if let Err(error) = migrate(&SQLITE_MIGRATOR, &pool, &location).await {
        close_sqlite(pool).await;
        return Err(error);
    }
    Ok(pool)
}

pub(crate) async fn open_postgres(url: &str, location: &str) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .map_err(|source| StoreError::Connect {
            location: location.to_owned(),
            source,
        })?;
    let query_error = |source| StoreError::Database {
        location: location.to_owned(),
        action: "reading the schema",
        source,
    };
    let (tables, has_migrations): (i64, bool) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE table_name <> '_sqlx_migrations'), \
                COUNT(*) FILTER (WHERE table_name = '_sqlx_migrations') > 0 \
         FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&pool)
    .await
    .map_err(query_error)?;
    if tables > 0 && !has_migrations {
        pool.close().await;
        return Err(StoreError::Foreign {
            location: location.to_owned(),
            detail: format!("{tables} tables and no raddraft schema history"),
        });
    }
    if has_migrations {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
                .map_err(query_error)?;
        if let Err(error) = check_not_newer(applied, &POSTGRES_MIGRATOR, location) {
            pool.close().await;
            return Err(error);
        }
    }
    if let Err(error) = migrate(&POSTGRES_MIGRATOR, &pool, location).await {
        pool.close().await;
        return Err(error);
    }
    Ok(pool)
}

/// Marks a new database as raddraft's before anything else is written, with a rollback journal
/// (not yet WAL) so the mark lands in the file's header at once, where other processes read it.
async fn stamp_application_id(path: &Path) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|source| sqlite_open_error(path, source))?;
    let stamped = sqlx::raw_sql(&format!(
        "PRAGMA application_id = {SQLITE_APPLICATION_ID}; PRAGMA wal_checkpoint(TRUNCATE);"
    ))
    .execute(&mut conn)
    .await;
    let _ = conn.close().await;
    stamped.map(drop).map_err(|source| StoreError::Database {
        location: path.display().to_string(),
        action: "marking the new database as raddraft's",
        source,
    })
}

/// Reads the header directly and, for a database with no application id, looks inside through an
/// immutable read-only connection (which creates no `-wal`/`-shm` files).
async fn inspect_sqlite_file(path: &Path) -> Result<SqliteFile, StoreError> {
    let io_error = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(SqliteFile::Fresh),
        Err(error) => return Err(io_error(error)),
    };
    let mut header = Vec::with_capacity(100);
    file.by_ref()
        .take(100)
        .read_to_end(&mut header)
        .map_err(io_error)?;
    if header.is_empty() {
        return Ok(SqliteFile::Fresh);
    }
    if !header.starts_with(SQLITE_MAGIC) {
        return Err(StoreError::NotADatabase {
            path: path.to_owned(),
        });
    }
    let Some(id_bytes) = header.get(APPLICATION_ID_OFFSET..APPLICATION_ID_OFFSET + 4) else {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: format!("the 100-byte header is cut short at {} bytes", header.len()),
        });
    };
    let application_id = i32::from_be_bytes([id_bytes[0], id_bytes[1], id_bytes[2], id_bytes[3]]);
    if application_id == SQLITE_APPLICATION_ID {
        return Ok(SqliteFile::Ours);
    }
    if application_id != 0 {
        return Err(StoreError::Foreign {
            location: path.display().to_string(),
            detail: format!("SQLite application_id {application_id:#010x}"),
        });
    }

    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|source| sqlite_open_error(path, source))?;
    let looked = look_inside(&mut conn, path).await;
    let _ = conn.close().await;
    let (application_id, objects) = looked?;
    if application_id == SQLITE_APPLICATION_ID {
        return Ok(SqliteFile::Ours);
    }
    if objects > 0 {
        return Err(StoreError::Foreign {
            location: path.display().to_string(),
            detail: format!("no raddraft application_id, {objects} tables, indexes or views"),
        });
    }
    Ok(SqliteFile::Fresh)
}

/// Integrity of a database of unknown origin, then its application id and the number of schema
/// objects it holds.
async fn look_inside(conn: &mut SqliteConnection, path: &Path) -> Result<(i32, i64), StoreError> {
    quick_check(&mut *conn, path).await?;
    let application_id = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&mut *conn)
        .await
        .map_err(|source| sqlite_open_error(path, source))?;
    let objects =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            .fetch_one(&mut *conn)
            .await
            .map_err(|source| sqlite_open_error(path, source))?;
    Ok((application_id, objects))
}

/// Our own file: it must pass `quick_check` and not come from a newer raddraft.
async fn check_own_sqlite(pool: &SqlitePool, path: &Path) -> Result<(), StoreError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|source| sqlite_open_error(path, source))?;
    quick_check(&mut conn, path).await?;
    let has_history: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|source| sqlite_open_error(path, source))?;
    if has_history == 0 {
        return Ok(());
    }
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(|source| sqlite_open_error(path, source))?;
    check_not_newer(applied, &SQLITE_MIGRATOR, &path.display().to_string())
}

async fn quick_check(conn: &mut SqliteConnection, path: &Path) -> Result<(), StoreError> {
    let report: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(conn)
        .await
        .map_err(|source| sqlite_open_error(path, source))?;
    if report.len() == 1 && report[0] == "ok" {
        return Ok(());
    }
    let mut detail = report.into_iter().take(3).collect::<Vec<_>>().join("; ");
    if detail.is_empty() {
        detail = "PRAGMA quick_check returned nothing".to_owned();
    }
    Err(StoreError::Corrupt {
        path: path.to_owned(),
        detail,
    })
}

fn check_not_newer(
    applied: Option<i64>,
    migrator: &Migrator,
    location: &str,
) -> Result<(), StoreError> {
    let supported = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(found) if found > supported => Err(StoreError::NewerSchema {
            location: location.to_owned(),
            found,
            supported,
        }),
        _ => Ok(()),
    }
}

async fn migrate<'a, A>(migrator: &Migrator, pool: &'a A, location: &str) -> Result<(), StoreError>
where
    &'a A: sqlx::Acquire<'a>,
    <<&'a A as sqlx::Acquire<'a>>::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    let mut attempt = 1;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(MigrateError::Execute(_) | MigrateError::ExecuteMigration(..))
                if attempt < MIGRATION_ATTEMPTS =>
            {
                attempt += 1;
                tracing::debug!(location, attempt, "retrying the schema migration");
            }
            Err(source) => {
                return Err(StoreError::Migrate {
                    location: location.to_owned(),
                    source,
                })
            }
        }
    }
}

/// Closes every connection once all are back in the pool. A connection still on its way back when
/// `Pool::close` runs can miss being closed, and then SQLite never folds the write-ahead log back
/// into the file nor removes the `-wal`/`-shm` files.
pub(crate) async fn close_sqlite(pool: SqlitePool) {
    for _ in 0..CLOSE_WAIT_STEPS {
        if pool.num_idle() >= pool.size() as usize {
            break;
        }
        tokio::time::sleep(CLOSE_WAIT_STEP).await;
    }
    pool.close().await;
}

/// SQLITE_CORRUPT and SQLITE_NOTADB on a file with a SQLite header mean a damaged database.
fn sqlite_open_error(path: &Path, source: sqlx::Error) -> StoreError {
    let code = source
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok());
    match code.map(|code| code & 0xff) {
        Some(11 | 26) => StoreError::Corrupt {
            path: path.to_owned(),
            detail: source.to_string(),
        },
        _ => StoreError::Connect {
            location: path.display().to_string(),
            source,
        },
    }
}

//! The two backends behind one API: a pool enum, and a macro that runs one sqlx call on either.
//!
//! Every query is written once, with `$1`-style placeholders (SQLite accepts them too), and
//! `sql!` expands it once per backend, so each copy is type-checked against its own driver.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use super::StoreError;

/// The connection pool of an open [`Store`](super::Store). Public so that tools and tests can run
/// raw SQL; the store's invariants hold only for writes made through `Store` methods.
#[derive(Debug, Clone)]
pub enum DbPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Key of the PostgreSQL advisory lock every store write holds ("raddraft" in ASCII), so audit
/// appends are serialised and the hash chain never forks.
const POSTGRES_WRITE_LOCK: i64 = 0x7261_6464_7261_6674;

/// One connection (or transaction) and the database's name for error messages.
pub(crate) struct Db<'c> {
    pub(crate) conn: Conn<'c>,
    location: &'c str,
}

pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// `sql!(db, c => <expr using c: &mut SqliteConnection or &mut PgConnection>)`.
macro_rules! sql {
    ($db:expr, $c:ident => $body:expr) => {
        match &mut $db.conn {
            $crate::store::db::Conn::Sqlite(inner) => {
                let $c = &mut **inner;
                $body
            }
            $crate::store::db::Conn::Postgres(inner) => {
                let $c = &mut **inner;
                $body
            }
        }
    };
}
pub(crate) use sql;

impl Db<'_> {
    /// Wraps a driver error with the database's name and what was being done.
    pub(crate) fn error(&self, action: &'static str, source: sqlx::Error) -> StoreError {
        StoreError::Database {
            location: self.location.to_owned(),
            action,
            source,
        }
    }

    pub(crate) fn bad_row(&self, table: &'static str, id: i64, detail: String) -> StoreError {
        StoreError::BadRow {
            location: self.location.to_owned(),
            table,
            id,
            detail,
        }
    }
}

/// A pooled connection for reads (no transaction).
pub(crate) enum ReadConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl ReadConn {
    pub(crate) async fn acquire(pool: &DbPool) -> Result<ReadConn, sqlx::Error> {
        Ok(match pool {
            DbPool::Sqlite(pool) => ReadConn::Sqlite(pool.acquire().await?),
            DbPool::Postgres(pool) => ReadConn::Postgres(pool.acquire().await?),
        })
    }

    pub(crate) fn db<'c>(&'c mut self, location: &'c str) -> Db<'c> {
        let conn = match self {
            ReadConn::Sqlite(conn) => Conn::Sqlite(conn),
            ReadConn::Postgres(conn) => Conn::Postgres(conn),
        };
        Db { conn, location }
    }
}

/// A write transaction that holds the database's single writer lock from its first statement:
/// `BEGIN IMMEDIATE` on SQLite (across processes), a transaction-scoped advisory lock on PostgreSQL.
/// Dropped without [`WriteTx::commit`], it rolls back.
pub(crate) enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl WriteTx {
    pub(crate) async fn begin(pool: &DbPool) -> Result<WriteTx, sqlx::Error> {
        Ok(match pool {
            DbPool::Sqlite(pool) => WriteTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            DbPool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(POSTGRES_WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                WriteTx::Postgres(tx)
            }
        })
    }

    pub(crate) fn db<'c>(&'c mut self, location: &'c str) -> Db<'c> {
        let conn = match self {
            WriteTx::Sqlite(tx) => Conn::Sqlite(tx),
            WriteTx::Postgres(tx) => Conn::Postgres(tx),
        };
        Db { conn, location }
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await,
            WriteTx::Postgres(tx) => tx.commit().await,
        }
    }
}

//! Shared harness of the store tests: the scenarios run once per backend (`store_sqlite.rs`,
//! `store_postgres.rs`), test databases, raw-SQL helpers and fixture records.

#![allow(dead_code)]

pub mod postgres;
pub mod scenarios;

use std::path::PathBuf;

use raddraft_core::store::{sha256_hex, DbLocation, DbPool, NewImage, NewStudy, Store};

/// Generates one `#[tokio::test]` per scenario, opening its database with `$new_db().await`.
macro_rules! backend_scenarios {
    ($new_db:path) => {
        backend_scenarios!(@tests $new_db;
            import_is_idempotent,
            study_fields_and_lookup,
            concurrent_imports_leave_one_row_per_image,
            worklist_status_follows_the_workflow,
            drafts_are_kept_and_round_trip,
            report_versions_append,
            sign_records_the_exact_version,
            signed_study_refuses_changes,
            addenda_only_after_signoff,
            triggers_refuse_raw_changes,
            audit_chain_detects_tampering,
            audit_log_filters_by_study,
            models_registry,
            reopening_keeps_everything,
            newer_schema_is_refused,
        );
    };
    (@tests $new_db:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $new_db().await;
                store_support::scenarios::$name(&db).await;
                db.finish().await;
            }
        )*
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database made for one test; [`TestDb::finish`] removes it.
pub struct TestDb {
    pub location: DbLocation,
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(tempfile::TempDir),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDb {
    /// A SQLite file (not created yet) in a fresh temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        TestDb {
            location: DbLocation::Sqlite(dir.path().join("raddraft.db")),
            backend: Backend::Sqlite,
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// An empty database on the test PostgreSQL server.
    pub async fn postgres() -> TestDb {
        let (url, admin_url, name) = postgres::fresh_database().await;
        TestDb {
            location: DbLocation::Postgres(url),
            backend: Backend::Postgres,
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        }
    }

    /// Opens a store (a new pool each call) acting as `tester`.
    pub async fn open(&self) -> Store {
        Store::open(&self.location)
            .await
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.location))
            .with_actor("tester")
    }

    pub async fn finish(self) {
        match self.cleanup {
            Cleanup::Dir(dir) => drop(dir),
            Cleanup::PostgresDatabase { admin_url, name } => {
                postgres::drop_database(&admin_url, &name).await
            }
        }
    }
}

/// Runs SQL straight through the store's pool, bypassing the API (as another program would).
pub async fn raw_execute(store: &Store, sql: &str) -> Result<u64, sqlx::Error> {
    match store.pool() {
        DbPool::Sqlite(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        DbPool::Postgres(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    }
}

/// The single integer a raw query returns.
pub async fn raw_count(store: &Store, sql: &str) -> i64 {
    match store.pool() {
        DbPool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        DbPool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub fn study_uid(study: u32) -> String {
    format!("1.2.826.0.1.3680043.10.543.{study}")
}

/// Image `instance` of study `study`, with every field filled in.
pub fn image(study: u32, instance: u32) -> NewImage {
    NewImage {
        study: NewStudy {
            study_uid: study_uid(study),
            patient_name: Some(format!("Doe^Jane{study}")),
            patient_id: Some(format!("PID{study}")),
            birth_date: Some("1950-02-03".into()),
            sex: Some("F".into()),
            study_date: Some("2026-11-02".into()),
            accession: Some(format!("ACC{study}")),
            description: Some("XR CHEST PA".into()),
            view_position: Some("PA".into()),
            indication: Some("Cough for three weeks".into()),
        },
        sop_instance_uid: format!("{}.{instance}", study_uid(study)),
        path: PathBuf::from(format!("/incoming/{study}/{instance}.dcm")),
        sha256: sha256_hex(format!("pixels of {study}/{instance}")),
        modality: Some("CR".into()),
        rows: 2048,
        columns: 2500,
    }
}

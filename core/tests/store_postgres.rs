//! The study store on PostgreSQL: every shared scenario, plus refusing another application's
//! database. Runs against `RADDRAFT_TEST_POSTGRES_URL` or a throwaway server from Debian's
//! `postgresql` package (installed by scripts/bootstrap.sh); fails, saying so, when neither exists.

#[macro_use]
mod store_support;

use raddraft_core::store::{DbLocation, Store, StoreError};
use store_support::TestDb;

backend_scenarios!(TestDb::postgres);

#[tokio::test]
async fn another_applications_database_is_refused() {
    let db = TestDb::postgres().await;
    let DbLocation::Postgres(url) = &db.location else {
        unreachable!("a PostgreSQL test database")
    };
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query("CREATE TABLE invoices (id BIGINT PRIMARY KEY, total NUMERIC)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let refused = Store::open(&db.location).await;
    assert!(
        matches!(&refused, Err(StoreError::Foreign { .. })),
        "{:?}",
        refused.map(|_| "a store")
    );
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        tables,
        ["invoices"],
        "nothing was added to the foreign database"
    );
    pool.close().await;
    db.finish().await;
}

#[tokio::test]
async fn password_is_masked_in_messages() {
    let location =
        DbLocation::parse("postgres://reporter:s3cret@db.example:5432/raddraft").unwrap();
    assert_eq!(
        location.to_string(),
        "postgres://reporter:***@db.example:5432/raddraft"
    );
    let location =
        DbLocation::parse("postgresql://reporter@db/raddraft?password=s3cret&sslmode=require")
            .unwrap();
    assert_eq!(
        location.to_string(),
        "postgresql://reporter@db/raddraft?password=***&sslmode=require"
    );
}

//! The PostgreSQL side: connections, versioned migrations, enrolment of logs, auditor tokens.

use std::str::FromStr as _;

use audit_chain::NoteVerifier;
use audit_events::LogId;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use sha2::{Digest as _, Sha256};
use tokio_postgres::NoTls;

use crate::error::CollectorError;

/// The migrations, in order: (version, name, SQL). Applied once each, in one transaction each,
/// and recorded in `schema_migrations`.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "fleet", include_str!("../migrations/0001_fleet.sql")),
    (2, "purge", include_str!("../migrations/0002_purge.sql")),
    (3, "correlation", include_str!("../migrations/0003_correlation.sql")),
];

/// A pool of connections to the fleet database.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("status", &self.pool.status()).finish()
    }
}

/// A log registered with the collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// The log id.
    pub log_id: LogId,
    /// Its origin (the checkpoint key's name).
    pub origin: String,
    /// The service id the origin names.
    pub service_id: String,
    /// The checkpoint public key.
    pub public_key: String,
}

impl Db {
    /// Connects (lazily) with a libpq connection string, keeping up to `size` connections.
    pub fn connect(connection: &str, size: usize) -> Result<Self, CollectorError> {
        let config = tokio_postgres::Config::from_str(connection)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            // A request never waits forever for the database: it answers 503 and the shipper
            // retries.
            .wait_timeout(Some(std::time::Duration::from_secs(30)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .build()
            .map_err(|e| CollectorError::Pool(e.to_string()))?;
        Ok(Self { pool })
    }

    /// One connection from the pool.
    pub async fn client(&self) -> Result<Object, CollectorError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => CollectorError::Database(e),
            other => CollectorError::Pool(other.to_string()),
        })
    }

    /// Applies the migrations not yet applied; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i32>, CollectorError> {
        let mut client = self.client().await?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version int PRIMARY KEY, name text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now())",
            )
            .await?;
        let mut applied = Vec::new();
        for (version, name, sql) in MIGRATIONS {
            let tx = client.transaction().await?;
            tx.batch_execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").await?;
            let done = tx
                .query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[version])
                .await?
                .is_some();
            if !done {
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    &[version, name],
                )
                .await?;
                applied.push(*version);
            }
            tx.commit().await?;
        }
        Ok(applied)
    }

    /// Creates the monthly partitions of `records` from a year back to three months ahead.
    pub async fn create_partitions(&self) -> Result<i32, CollectorError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT audit_create_month_partitions((now() - interval '12 months')::date, 16)",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Registers a log by its checkpoint public key (`audit/<service>/<log id>+keyid+key`).
    /// Enrolling the same key again is a no-op; another key for an enrolled origin is refused.
    pub async fn enroll(&self, public_key: &str) -> Result<Enrolled, CollectorError> {
        let enrolled = enrolment_of(public_key)?;
        let client = self.client().await?;
        let inserted = client
            .execute(
                "INSERT INTO logs (log_id, origin, service_id, public_key) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[
                    &enrolled.log_id.as_bytes().as_slice(),
                    &enrolled.origin,
                    &enrolled.service_id,
                    &enrolled.public_key,
                ],
            )
            .await?;
        if inserted == 0 {
            let row = client
                .query_opt(
                    "SELECT public_key FROM logs WHERE log_id = $1 OR origin = $2",
                    &[&enrolled.log_id.as_bytes().as_slice(), &enrolled.origin],
                )
                .await?;
            let existing: Option<String> = row.map(|r| r.get(0));
            if existing.as_deref() != Some(enrolled.public_key.as_str()) {
                return Err(CollectorError::Invalid(format!(
                    "{} is already enrolled with another public key",
                    enrolled.origin
                )));
            }
        }
        Ok(enrolled)
    }

    /// Purges the records of the log `origin` older than `cutoff` (RFC 3339), up to the largest
    /// accepted position before the first younger record, through `audit_purge`: the chained
    /// purge row first, then the records. Returns how many records were removed.
    pub async fn purge(
        &self,
        origin: &str,
        cutoff: &str,
        reason: &str,
    ) -> Result<i64, CollectorError> {
        let cutoff = audit_events::Timestamp::parse_rfc3339(cutoff)
            .map_err(|_| CollectorError::Invalid(format!("{cutoff:?} is not an RFC 3339 time")))?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let row = tx.query_opt("SELECT log_id FROM logs WHERE origin = $1", &[&origin]).await?;
        let Some(row) = row else {
            return Err(CollectorError::Invalid(format!(
                "no log with origin {origin:?} is enrolled"
            )));
        };
        let log_id: Vec<u8> = row.get(0);
        let removed: i64 = tx
            .query_one(
                "SELECT audit_purge($1, to_timestamp($2::float8 / 1e9), $3)",
                &[&log_id, &(cutoff.0 as f64), &reason],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(removed)
    }

    /// Every enrolled log.
    pub async fn logs(&self) -> Result<Vec<Enrolled>, CollectorError> {
        let client = self.client().await?;
        let rows = client.query("SELECT public_key FROM logs ORDER BY origin", &[]).await?;
        rows.iter().map(|r| enrolment_of(&r.get::<_, String>(0))).collect()
    }

    /// Creates a read-API token named `name`; the token is returned once, only its SHA-256 is
    /// stored.
    pub async fn add_auditor_token(&self, name: &str) -> Result<String, CollectorError> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw)
            .map_err(|e| CollectorError::Invalid(format!("no randomness: {e}")))?;
        let token = format!("audtok_{}", base16ct::lower::encode_string(&raw));
        let digest = Sha256::digest(token.as_bytes());
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO auditor_tokens (name, token_sha256) VALUES ($1, $2)",
                &[&name, &digest.as_slice()],
            )
            .await?;
        Ok(token)
    }

    /// Whether `token` is a read-API token.
    pub async fn auditor_token_valid(&self, token: &str) -> Result<bool, CollectorError> {
        let digest = Sha256::digest(token.as_bytes());
        let client = self.client().await?;
        Ok(client
            .query_opt(
                "SELECT 1 FROM auditor_tokens WHERE token_sha256 = $1",
                &[&digest.as_slice()],
            )
            .await?
            .is_some())
    }
}

/// The enrolment a checkpoint public key describes: its name must be a log origin
/// `audit/<service id>/<log id hex>`.
pub fn enrolment_of(public_key: &str) -> Result<Enrolled, CollectorError> {
    let public_key = public_key.trim();
    let verifier = NoteVerifier::parse(public_key)?;
    let origin = verifier.name().to_owned();
    let bad = || {
        CollectorError::Invalid(format!(
            "key name {origin:?} is not a log origin (audit/<service id>/<log id>)"
        ))
    };
    let (_, id) = origin.rsplit_once('/').ok_or_else(bad)?;
    let log_id = LogId::from_str(id).map_err(|_| bad())?;
    let service_id = audit_store::service_of_origin(&origin, log_id).ok_or_else(bad)?.to_owned();
    Ok(Enrolled { log_id, origin, service_id, public_key: public_key.to_owned() })
}

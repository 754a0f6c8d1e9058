//! The fixture both test binaries and the fleet benchmark share: a throwaway PostgreSQL
//! cluster, the fleet database and a collector serving HTTPS on loopback.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use audit_chain::Cosigner;
use audit_collector::CollectorError;
use audit_collector::client::CollectorClient;
use audit_collector::cluster::TempCluster;
use audit_collector::db::Db;
use audit_collector::server::{self, AppState, Running};
use audit_collector::tls::TlsIdentity;
use audit_collector::witness::{self, Outcome};

/// Copies a log directory's files to `to` (created, mode 0700).
pub(crate) fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    audit_testkit::fixture::copy_log(from, to);
    std::fs::set_permissions(to, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
}

/// A PostgreSQL cluster, the fleet database and a collector serving HTTPS on loopback.
pub(crate) struct Fleet {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) cluster: TempCluster,
    pub(crate) db: Db,
    pub(crate) tls: TlsIdentity,
    pub(crate) witness: Arc<Cosigner>,
    server: Option<Running>,
    pub(crate) addr: SocketAddr,
}

impl Fleet {
    pub(crate) fn start() -> Self {
        Self::start_with_pool(4)
    }

    /// [`Fleet::start`] with `pool` database connections (the benchmark uses more).
    pub(crate) fn start_with_pool(pool: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let cluster = TempCluster::start().unwrap();
        let db = Db::connect(&cluster.connection_string(), pool).unwrap();
        runtime.block_on(async {
            db.migrate().await.unwrap();
            db.create_partitions().await.unwrap();
        });
        let tls = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
        let witness = Arc::new(Cosigner::from_seed("collector.test/witness", [42; 32]).unwrap());
        let mut fleet = Self {
            runtime,
            cluster,
            db,
            tls,
            witness,
            server: None,
            addr: "127.0.0.1:0".parse().unwrap(),
        };
        fleet.serve();
        fleet
    }

    /// Starts serving (again), on the address of the previous server if there was one.
    pub(crate) fn serve(&mut self) {
        let state = AppState { db: self.db.clone(), witness: Arc::clone(&self.witness) };
        let running = self.runtime.block_on(server::start(self.addr, &self.tls, state)).unwrap();
        self.addr = running.addr;
        self.server = Some(running);
    }

    pub(crate) fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }

    pub(crate) fn client(&self, token: Option<String>) -> CollectorClient {
        CollectorClient::new(&format!("https://{}", self.addr), self.tls.cert_pem.as_bytes(), token)
            .unwrap()
    }

    /// Enrolls a log by its checkpoint public key.
    pub(crate) fn enroll(&self, public_key: &str) {
        self.runtime.block_on(self.db.enroll(public_key)).unwrap();
    }

    pub(crate) fn ingest(&self, body: &[u8]) -> Result<Outcome, CollectorError> {
        self.runtime.block_on(witness::ingest(&self.db, &self.witness, body))
    }

    pub(crate) fn query(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        self.runtime.block_on(async {
            let client = self.db.client().await.unwrap();
            client.query(sql, &[]).await.unwrap()
        })
    }

    pub(crate) fn count(&self, sql: &str) -> i64 {
        self.query(sql)[0].get(0)
    }

    pub(crate) fn refusals(&self) -> Vec<(String, String)> {
        self.query("SELECT reason, detail FROM refusals ORDER BY id")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop_server();
    }
}

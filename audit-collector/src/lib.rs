//! Fleet mode: a collector that witnesses every service's audit log and stores it in
//! PostgreSQL, and the shipper that feeds it from a log directory.
//!
//! - [`witness`]: how a shipment is checked against the collector's accepted history, stored,
//!   and its checkpoint cosigned (C2SP tlog-cosignature v1).
//! - [`shipment`]: the wire form of a shipment.
//! - [`db`]: connections, migrations (`migrations/`), enrolment, auditor tokens.
//! - [`cluster`]: a throwaway PostgreSQL cluster for tests, benchmarks and the demo.

pub mod client;
pub mod cluster;
pub mod db;
mod error;
pub mod fleet;
pub mod server;
pub mod ship;
pub mod shipment;
pub mod tls;
pub mod witness;

pub use error::CollectorError;

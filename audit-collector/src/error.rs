//! The crate's error type.

/// Why a collector, shipper or fleet operation failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The database refused or lost the connection.
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// No database connection could be had.
    #[error("database pool: {0}")]
    Pool(String),
    /// A throwaway cluster could not be started or stopped.
    #[error("PostgreSQL cluster: {0}")]
    Cluster(String),
    /// The log directory could not be read.
    #[error(transparent)]
    Store(#[from] audit_store::StoreError),
    /// A key, checkpoint or proof does not verify or parse.
    #[error(transparent)]
    Chain(#[from] audit_chain::ChainError),
    /// TLS configuration (certificates, keys).
    #[error("TLS: {0}")]
    Tls(String),
    /// A request to the collector failed before an answer came back.
    #[error("cannot reach the collector: {0}")]
    Transport(String),
    /// The collector answered with an error status.
    #[error("the collector refused the request ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The collector's explanation.
        message: String,
    },
    /// Malformed input: a shipment, an answer, a file.
    #[error("{0}")]
    Invalid(String),
    /// An I/O error outside the log directory.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

//! Opening the log a configuration names: the one place where a mode becomes a sink.

use crate::config::{AuditConfig, AuditMode};
use crate::error::AuditError;
use crate::sink::LogSink;

/// What a verifier needs to check a new log's seals and checkpoints (its initial seal key and
/// its checkpoint public key), handed back once by
/// [`crate::AuditLogger::take_verifier_material`] when the logger creates a log.
///
/// The store defines its contents. Until the store backend is wired into the logger no log is
/// ever created, so no value of this type can exist: it is an uninhabited placeholder for
/// `audit_store::VerifierMaterial`.
pub type VerifierMaterial = std::convert::Infallible;

/// The name and version the writer records in the log's created and resumed records.
pub(crate) const WRITER_VERSION: &str = concat!("audit-logger ", env!("CARGO_PKG_VERSION"));

/// An opened log, and the verifier material if it was just created.
pub(crate) struct Opened {
    pub(crate) sink: Box<dyn LogSink>,
    pub(crate) verifier: Option<VerifierMaterial>,
}

/// Opens (or creates) the log the configuration names; `None` for a disabled logger.
pub(crate) fn open(config: &AuditConfig) -> Result<Option<Opened>, AuditError> {
    match &config.mode {
        AuditMode::Disabled => Ok(None),
        AuditMode::Local { base_dir } => open_local(config, base_dir).map(Some),
    }
}

/// The store backend plugs in here: `store_sink.rs` implements `LogSink` for
/// `audit_store::LogWriter`, and this function maps the configuration to a `LogConfig`
/// (`service_id`, `writer: WRITER_VERSION`, `seal_epoch`, `rotation`, `retention`) and calls
/// `LogWriter::create` or `LogWriter::open` according to `config.keys`.
fn open_local(_config: &AuditConfig, _base_dir: &std::path::Path) -> Result<Opened, AuditError> {
    Err(AuditError::Store {
        cause: "the local log store backend is not wired into the logger in this build; use \
                AuditMode::Disabled explicitly or a test sink"
            .to_owned(),
    })
}

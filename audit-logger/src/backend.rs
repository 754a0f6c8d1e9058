//! Opening the log a configuration names: the one place where a mode becomes a sink.

use std::path::Path;
use std::sync::Arc;

use audit_events::Timestamp;
use audit_store::io::{Io, OsIo};
use audit_store::{LogConfig, LogWriter, StoreError, VerifierMaterial};

use crate::config::{AuditConfig, AuditMode, KeyHandling, RetentionPolicy};
use crate::error::{AuditError, Failure};
use crate::sink::LogSink;

/// The name and version the writer records in the log's created and resumed records.
pub(crate) const WRITER_VERSION: &str = concat!("audit-logger ", env!("CARGO_PKG_VERSION"));

/// An opened log, and the verifier material if it was just created.
pub(crate) struct Opened {
    pub(crate) sink: Box<dyn LogSink>,
    pub(crate) verifier: Option<VerifierMaterial>,
}

/// Opens (or creates) the log the configuration names; `None` for a disabled logger.
pub(crate) fn open(
    config: &AuditConfig,
    io: Option<Arc<dyn Io>>,
) -> Result<Option<Opened>, AuditError> {
    match &config.mode {
        AuditMode::Disabled => Ok(None),
        AuditMode::Local { base_dir } => {
            open_local(config, base_dir, io.unwrap_or_else(|| Arc::new(OsIo))).map(Some)
        }
    }
}

/// The store's configuration for this logger's.
fn store_config(config: &AuditConfig) -> LogConfig {
    let mut log = LogConfig::new(config.service_id.clone());
    log.writer = WRITER_VERSION.to_owned();
    log.seal_epoch = config.seal_epoch;
    log.max_segment_bytes = config.rotation.max_segment_bytes;
    log.rotate_daily = config.rotation.rotate_daily;
    log.retention.days = match config.retention {
        // A period no record outlives: nothing is ever purged.
        RetentionPolicy::KeepForever => u32::MAX,
        RetentionPolicy::Days(days) => days,
    };
    log.retention.legal_hold = config.legal_hold;
    log
}

fn store_error(err: &StoreError) -> AuditError {
    match err {
        StoreError::Locked { .. } => AuditError::LogLocked,
        _ => AuditError::Store {
            cause: input_validation::escape_for_log(&err.to_string()).into_owned(),
            failure: Failure::of_store(err),
        },
    }
}

/// Opens the log in `base_dir`, or creates it there when the configuration allows and there is
/// none yet (a missing or empty directory).
fn open_local(
    config: &AuditConfig,
    base_dir: &Path,
    io: Arc<dyn Io>,
) -> Result<Opened, AuditError> {
    let log_config = store_config(config);
    let now = Timestamp::now();
    match LogWriter::open_with_io(base_dir, log_config.clone(), now, io.clone()) {
        Ok(writer) => Ok(Opened { sink: Box::new(writer), verifier: None }),
        Err(StoreError::NotALog { .. }) if config.keys == KeyHandling::CreateOnFirstUse => {
            let (writer, material) = LogWriter::create_with_io(base_dir, log_config, now, io)
                .map_err(|e| store_error(&e))?;
            Ok(Opened { sink: Box::new(writer), verifier: Some(material) })
        }
        Err(err) => Err(store_error(&err)),
    }
}

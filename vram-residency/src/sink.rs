//! Where VRAM audit events go, and a recording sink for tests.

use std::sync::atomic::{AtomicBool, Ordering};

use audit_events::AuditEvent;
use audit_logger::{AuditError, Failure, FailureKind};
use parking_lot::Mutex;

/// Where VRAM audit events go: an `audit_logger::AuditLogger` in production, a
/// [`RecordingSink`] in tests.
///
/// `emit` must not block for long: it is called on the sealing and verification paths. An
/// error never fails the GPU operation; [`VramManager`](crate::VramManager) counts it per event
/// kind ([`VramManager::audit_failures`](crate::VramManager::audit_failures)).
pub trait AuditSink: Send + Sync {
    /// Hands one event over. The error must not contain secrets.
    ///
    /// # Errors
    ///
    /// Whatever the sink could not do, typed as the logger's [`AuditError`]: a full queue
    /// ([`AuditError::BufferFull`]), a failed writer ([`AuditError::WriterPoisoned`], whose
    /// [`AuditError::failure`] tells a full disk from another I/O error from a damaged log), a
    /// logger shut down.
    fn emit(&self, event: AuditEvent) -> Result<(), AuditError>;
}

/// A sink that keeps every event in memory, in order, and can be told to fail.
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: Mutex<Vec<AuditEvent>>,
    failing: AtomicBool,
}

impl RecordingSink {
    /// An empty sink that accepts events.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every event accepted so far, in order.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().clone()
    }

    /// Removes and returns every event accepted so far.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.events.lock())
    }

    /// While `failing` is true, `emit` refuses events (and does not keep them).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl AuditSink for RecordingSink {
    fn emit(&self, event: AuditEvent) -> Result<(), AuditError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(AuditError::WriterPoisoned {
                cause: "recording sink is set to fail".to_owned(),
                failure: Failure::new(FailureKind::Other),
            });
        }
        self.events.lock().push(event);
        Ok(())
    }
}

impl AuditSink for audit_logger::AuditLogger {
    fn emit(&self, event: AuditEvent) -> Result<(), AuditError> {
        audit_logger::AuditLogger::emit(self, event)
    }
}

//! Exit statuses, and how an error maps to one: a usage error (exit 2) or an operational
//! failure (exit 3).

use std::fmt;

use audit_store::StoreError;

/// How a command ended; [`ExitStatus::code`] is the process exit code.
///
/// The contract scripts rely on: 0 success (the log is intact, the query matched), 1 a finding
/// (tampering or a gap, a proof that does not verify, no matching record), 2 a usage error (bad
/// arguments or values, a directory that holds no log, a sequence number or size the log does
/// not have), 3 an I/O or other operational error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: the command did what was asked and found nothing wrong.
    Success,
    /// 1: tampering or a gap was found, a proof did not verify, or a query matched nothing.
    Finding,
    /// 2: the arguments or their values are wrong.
    Usage,
    /// 3: an I/O or other operational error stopped the command.
    Failure,
}

impl ExitStatus {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Finding => 1,
            Self::Usage => 2,
            Self::Failure => 3,
        }
    }
}

/// A bad argument or value given on the command line or in a file named by one.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// An `anyhow` error that exits with status 2.
pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// The exit status an error stands for.
pub(crate) fn status_of(error: &anyhow::Error) -> ExitStatus {
    for cause in error.chain() {
        if cause.is::<UsageError>() {
            return ExitStatus::Usage;
        }
        if let Some(store) = cause.downcast_ref::<StoreError>()
            && matches!(
                store,
                StoreError::NotALog { .. }
                    | StoreError::UnsafePath { .. }
                    | StoreError::Config { .. }
                    | StoreError::OutOfRange { .. }
                    | StoreError::WrongLog { .. }
            )
        {
            return ExitStatus::Usage;
        }
    }
    ExitStatus::Failure
}

/// Whether the error is a closed output pipe (`audit query ... | head`): not worth a message.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_store_errors_map_to_their_codes() {
        assert_eq!(status_of(&usage("bad")), ExitStatus::Usage);
        let not_a_log = anyhow::Error::new(StoreError::NotALog { path: "x".into() });
        assert_eq!(status_of(&not_a_log.context("opening")), ExitStatus::Usage);
        let io = StoreError::Io {
            op: "reading",
            path: "x".into(),
            source: std::io::Error::other("disk on fire"),
        };
        assert_eq!(status_of(&anyhow::Error::new(io)), ExitStatus::Failure);
        // A hostile file in a log directory stops a command as an operational error; `verify`
        // reports the evidence files among them as findings instead (exit 1).
        let refused = StoreError::UnsafeFile { file: "x".into(), reason: "a FIFO".into() };
        assert_eq!(status_of(&anyhow::Error::new(refused)), ExitStatus::Failure);
        let codes: Vec<u8> =
            [ExitStatus::Success, ExitStatus::Finding, ExitStatus::Usage, ExitStatus::Failure]
                .iter()
                .map(|s| s.code())
                .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    #[test]
    fn a_broken_pipe_is_recognised_through_context() {
        let e = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&usage("x")));
    }
}

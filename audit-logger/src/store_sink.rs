//! The production log sink: the store's writer.

use audit_events::{Entry, Timestamp};
use audit_store::LogWriter;

use crate::sink::{LogSink, SinkError};

impl LogSink for LogWriter {
    fn append_batch(&mut self, entries: &[Entry], now: Timestamp) -> Result<(u64, u64), SinkError> {
        let outcome = LogWriter::append_batch(self, entries, now).map_err(SinkError::store)?;
        // An empty batch leaves the last durable record where it was.
        let last = (outcome.first_seq + outcome.count).saturating_sub(1);
        Ok((outcome.first_seq, last))
    }

    fn seal_if_due(&mut self, now: Timestamp) -> Result<(), SinkError> {
        LogWriter::seal_if_due(self, now).map_err(SinkError::store)
    }

    fn next_seal_due(&self) -> Timestamp {
        LogWriter::next_seal_due(self)
    }

    fn apply_retention(&mut self, now: Timestamp) -> Result<(), SinkError> {
        LogWriter::apply_retention(self, now).map(|_| ()).map_err(SinkError::store)
    }

    fn close(self: Box<Self>, now: Timestamp) -> Result<(), SinkError> {
        LogWriter::close(*self, now).map_err(SinkError::store)
    }
}

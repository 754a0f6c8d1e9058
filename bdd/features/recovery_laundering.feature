Feature: Recovery does not launder tampering
  On open, the writer cuts off a torn final write and records that it did. An intruder who can
  write the log directory can make removed records look like such a write: zeros where frames
  were, or a file cut inside a frame, with the checkpoint files removed. The writer must refuse
  to open rather than cut below a signed checkpoint in the directory or seal over records removed
  from the end (the seal key on disk is ahead of the last seal left), while the crashes FORMAT.md
  describes (a torn batch ending in zero-filled sectors, a crash before seal.key was replaced)
  still reopen and verify.

  Scenario: zeros from a frame the checkpoint covers are not cut off as a torn write
    Given a log written by the real logger and shut down cleanly
    When the intruder zeroes the last segment from its third frame to the end
    Then `audit emit` refuses to open the log, naming "checkpoint", and nothing is cut
    And the real logger refuses to open the log and nothing is cut

  Scenario: the log cut back past earlier seals with every checkpoint removed
    Given a log sealed every minute for 6 minutes whose writer was killed
    When the intruder cuts the log inside the frame after its second seal and removes every checkpoint file
    Then the seal key on disk is more than one epoch past the last seal left
    And `audit emit` refuses to open the log, naming "seal.key", and nothing is cut

  Scenario: a torn final batch whose last sectors are zeros reopens and verifies
    Given a log whose writer was killed while its last batch was written, the batch's last sectors left as zeros
    When a new logger opens the same log and writes an event
    Then every record up to the zeroed sectors is still in the log, byte for byte
    And the log records one crash recovery
    And `audit verify` with the verifier material reports the log intact

  Scenario: a crash after the frames and checkpoint were durable but before seal.key was replaced
    Given a log whose writer crossed two epoch boundaries in its last batch and was killed before seal.key was replaced
    When `audit emit` reopens the log
    Then `audit verify` with the verifier material reports the log intact

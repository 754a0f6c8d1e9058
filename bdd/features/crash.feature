Feature: A crash in the middle of a write
  A writer killed mid-batch (SIGKILL, power cut) leaves an incomplete final frame, or space the
  file system allocated before the data arrived. That is not tampering: verification reports
  the torn tail and passes. The next writer discards exactly the torn bytes, records that it
  did and that the previous writer did not close the log, and keeps every record that was
  acknowledged durable, byte for byte.

  Scenario: a writer cut off in the middle of a batch
    Given a new audit log written by the real logger through a fault-injecting file layer
    When 5 events are written and made durable
    And the writer is cut off in the middle of its next batch
    Then the caller is told the batch failed
    When a new logger opens the same log
    Then every record acknowledged before the crash is still in the log, byte for byte
    And the log records the recovery and that the previous writer did not close it
    And `audit verify` with the verifier material reports the log intact

  Scenario: a writer killed while writing a frame
    Given a log whose writer was killed in the middle of writing a frame
    Then `audit verify` with the verifier material reports the log intact and the torn tail
    When a new logger opens the same log
    Then every record acknowledged before the crash is still in the log, byte for byte
    And the log records the recovery and that the previous writer did not close it
    And `audit verify` with the verifier material reports the log intact

  Scenario: a writer killed after space for a frame was allocated but before its data arrived
    Given a log whose writer was killed after space for a frame was allocated but before its data arrived
    Then `audit verify` with the verifier material reports the log intact and the torn tail
    When a new logger opens the same log
    Then every record acknowledged before the crash is still in the log, byte for byte
    And the log records the recovery and that the previous writer did not close it
    And `audit verify` with the verifier material reports the log intact

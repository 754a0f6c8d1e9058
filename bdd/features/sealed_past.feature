Feature: The seal key left on the host cannot re-seal the past
  The host keeps only the seal-key state of the current epoch, and a clean shutdown moves it one
  epoch past the final seal: an intruder who takes the host after the log was closed holds a key
  that seals nothing the log already holds. Records appended after the final seal without a
  `log_resumed` are a finding whether or not they are sealed with that key, and a log rewritten
  without any key, its seals and checkpoints removed, fails verification with the verifier
  material.

  Scenario: the key left after a clean shutdown cannot re-seal the last epoch
    Given a log sealed every minute for 10 minutes and closed cleanly within its last minute
    Then the seal key left on the host cannot derive the key of the final seal's epoch
    When the intruder changes the time of a record after the last boundary seal and re-seals the final epoch with the key left on the host
    Then `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts

  Scenario: an event appended after the final seal without a restart
    Given a log sealed every minute for 10 minutes and closed cleanly within its last minute
    When the intruder appends an event after the final seal
    Then `audit verify` with the verifier material exits 1 with a "sequence" failure where the tampering starts

  Scenario: an event appended after the final seal without a restart, sealed with the key left on the host
    Given a log sealed every minute for 10 minutes and closed cleanly within its last minute
    When the intruder appends an event after the final seal and seals it with the key left on the host
    Then `audit verify` with the verifier material exits 1 with a "sequence" failure where the tampering starts

  Scenario: the whole log rewritten without any key, every seal and checkpoint removed
    Given a log sealed every minute for 10 minutes whose writer is still running
    When the intruder rewrites the whole log without any key, dates every record after log_created in its first minute, drops every seal and removes every checkpoint
    Then `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts

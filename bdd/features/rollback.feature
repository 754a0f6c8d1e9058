Feature: Rollback, forks and retention purges
  An intruder can replace the log directory with an earlier valid copy, or continue an earlier
  copy differently; every file is then consistent with itself. Only a checkpoint kept off the
  host (or by a witness) shows it. Retention may remove only old, sealed segments, after a
  purge record in the live chain; a purge that claims more than the retention the log was
  created with, or a gap that no purge record explains, is reported.

  Scenario: rolling the log back to an earlier valid state is caught by a held newer checkpoint
    Given a log written by the real logger in two sessions, the checkpoint after the second kept off the host
    When the log directory is rolled back to its state after the first session
    Then `audit verify` with the verifier material reports the log intact
    When the operator verifies against the checkpoint kept off the host
    Then `audit verify` with the verifier material exits 1 with a "checkpoint" failure where the tampering starts

  Scenario: a fork of an earlier state is caught by a held newer checkpoint
    Given a log written by the real logger in two sessions, the checkpoint after the second kept off the host
    When the log directory is rolled back to its state after the first session
    And the earlier state is continued differently by a new writer
    Then `audit verify` with the verifier material reports the log intact
    When the operator verifies against the checkpoint kept off the host
    Then `audit verify` with the verifier material exits 1 with a "checkpoint" failure where the tampering starts

  Scenario: a purge that claims more than the log's retention allows is reported
    Given a log written with a one-day retention over three days, its oldest segments purged
    Then `audit verify` with the verifier material exits 1 with a "purge" failure where the tampering starts
    When the operator allows a retention of 1 day
    Then `audit verify` with the verifier material reports the log intact

  Scenario: a segment deleted after a legitimate purge leaves a gap no purge record covers
    Given a log written with a one-day retention over three days, its oldest segments purged
    When the operator allows a retention of 1 day
    And the oldest remaining segment is deleted as well
    Then `audit verify` with the verifier material exits 1 with a "missing" failure where the tampering starts

Feature: Forward security of the seals
  An intruder takes the host at minute 15 of a log sealed every minute and steals every key
  found there: the current seal-key state and the checkpoint signing key. The state derives the
  keys of minute 15 and later only. Whatever the intruder does to the records written before,
  `audit verify` with the verifier material (the initial seal key, kept off the host since the
  log was created) must exit 1 and say where; what the stolen keys can still do (cut recent
  records and continue behind a fake restart) shows as a restart, and a checkpoint held off the
  host proves the cut.

  Background:
    Given a log sealed every minute for 15 minutes
    And the latest checkpoint is copied off the host
    And an intruder who took the host at minute 15 holds the seal-key state found there

  Scenario: the stolen key state cannot derive the key of any earlier minute
    Then the stolen state derives no key of an earlier epoch
    And `audit verify` with the verifier material reports the log intact

  Scenario: an earlier record changed and every seal re-made that the stolen key can make
    When the intruder changes an earlier record and re-seals every seal it can with the stolen key
    Then `audit verify` without the verifier material reports the log intact
    And `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts

  Scenario: an earlier record changed and every seal re-dated to the stolen minute
    When the intruder changes an earlier record and re-dates every seal to the stolen epoch
    Then `audit verify` with the verifier material exits 1 with a "coverage or seal" failure where the tampering starts

  Scenario: an earlier record changed and the whole log sealed once with the stolen key
    When the intruder changes an earlier record, drops the old seals and seals everything once with the stolen key
    Then `audit verify` with the verifier material exits 1 with a "coverage" failure where the tampering starts

  Scenario: every seal removed
    When the intruder drops every seal
    Then `audit verify` with the verifier material exits 1 with a "coverage" failure where the tampering starts

  Scenario: recent minutes cut and the log continued with the stolen key
    When the intruder cuts the records after minute 10 and continues the log with the stolen key
    Then `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts

  Scenario: recent minutes cut behind a fake restart are proven cut by a held checkpoint
    When the intruder cuts the records after minute 10 and continues the log behind a fake restart
    Then `audit verify` with the verifier material reports the log intact and the restart
    When the operator verifies against the checkpoint kept off the host
    Then `audit verify` with the verifier material exits 1 with a "checkpoint" failure at the end of the log

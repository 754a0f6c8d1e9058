Feature: Honest verdicts
  An intruder who can write the log directory, and holds the signing key kept there, can
  rewrite the whole log and recompute every hash that needs no key. What `audit verify`,
  `audit report` and `audit consistency` say must be exactly what was proven: PASS only when
  the verifier material kept off the host authenticated every record; CHAINED when nothing was
  authenticated; verifier material of another log is a usage error, not a finding; and
  consistency with a held checkpoint vouches for nothing `audit verify` would reject.

  Background:
    Given a closed log of several segments written by the real logger

  Scenario: verify without the verifier material never says PASS
    Then `audit verify` without the verifier material says CHAINED and never PASS
    And `audit verify --require-anchor` without the verifier material exits 1
    And `audit verify` with the verifier material says PASS
    And `audit report` without the verifier material says NOT PROVEN and never PASS, for every framework
    And `audit report` with the verifier material says PASS

  Scenario: a whole log rewritten without the keys, checkpoints removed, is never PASS
    When the whole log is rewritten from scratch with consistent hashes and seals under a key of the intruder's own
    And every checkpoint file is removed from the log directory
    Then `audit verify` without the verifier material says CHAINED and never PASS
    And `audit report` without the verifier material says NOT PROVEN and never PASS, for every framework
    And `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts

  Scenario: verifier material of another log is a usage error naming both logs
    Then `audit verify` with the verifier material of another log exits 2 naming both logs

  Scenario: consistency with a held checkpoint fails once the first two segments are deleted
    Given the latest checkpoint is copied off the host
    Then `audit consistency` against the checkpoint kept off the host exits 0 saying "PASS"
    When the first two segments are deleted
    Then `audit consistency` against the checkpoint kept off the host exits 1 with a "missing" failure

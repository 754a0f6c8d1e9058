Feature: Tampering with a log on disk
  An insider or intruder with write access to the log directory edits, deletes, inserts,
  reorders or truncates records or whole segment files, or rewrites the whole log and
  recomputes every hash, re-signing the checkpoints with the signing key found on the host.
  Each attack of docs/THREAT-MODEL.md is done to a log the real logger wrote, and the
  real `audit verify`, given the verifier material kept off the host, must exit 1 and name the
  segment file and the sequence number where the tampering starts. A log nobody touched must
  verify. The store's own tests flip every byte of a small log; here a sample of bytes is
  flipped and each is checked through the binary.

  Background:
    Given a closed log of several segments written by the real logger

  Scenario: an untampered log verifies
    Then `audit verify` with the verifier material reports the log intact

  Scenario: a changed byte anywhere in any segment is detected
    When every 97th byte of every segment is flipped in turn
    Then `audit verify` exits 1 for every flip and names the flipped segment
    And `audit verify` with the verifier material reports the log intact

  Scenario: a changed field with that record's own hash recomputed breaks the chain after it
    When the reason of an authentication failure is changed and only that record's chain hash is recomputed
    Then `audit verify` with the verifier material exits 1 with a "chain" failure where the tampering starts

  Scenario: a changed field with every hash recomputed is caught by the seal over it
    When the reason of an authentication failure is changed, every hash after it recomputed and the checkpoint re-signed
    Then `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts

  Scenario Outline: a record <edit> with every hash recomputed is caught by the seal over it
    When a record is <edit>, every hash recomputed and the checkpoint re-signed
    Then `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts

    Examples:
      | edit      |
      | deleted   |
      | forged    |
      | reordered |

  Scenario: a record cut out without rechaining breaks the chain where it was
    When a frame is cut out of a segment without rechaining
    Then `audit verify` with the verifier material exits 1 with a "chain" failure where the tampering starts

  Scenario: the tail cut at a frame boundary is caught by the checkpoint
    When the last segment is cut at the start of its last frame
    Then `audit verify` with the verifier material exits 1 with a "checkpoint" failure where the tampering starts

  Scenario: the tail cut inside a frame is caught by the checkpoint, not excused as a crash
    When the last segment is cut inside its last frame
    Then `audit verify` with the verifier material exits 1 with a "checkpoint" failure where the tampering starts

  Scenario: the tail cut and the checkpoint re-signed is caught by the seal key left ahead of it, and by a checkpoint held off the host
    Given the latest checkpoint is copied off the host
    When the records after the last seal are cut off and the checkpoint re-signed
    Then `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts
    When the operator verifies against the checkpoint kept off the host
    Then `audit verify` with the verifier material exits 1 with a "checkpoint" failure where the tampering starts

  Scenario: deleting the first segment leaves a gap no purge record covers
    When the first segment is deleted
    Then `audit verify` with the verifier material exits 1 with a "missing" failure where the tampering starts

  Scenario: deleting a middle segment is caught where its records are missing
    When the second segment is deleted
    Then `audit verify` with the verifier material exits 1 with a "missing" failure where the tampering starts

  Scenario: swapping two segments is caught by their headers
    When the first two segments are swapped
    Then `audit verify` with the verifier material exits 1 with a "header" failure where the tampering starts

  Scenario: a duplicated segment is caught by its header
    When the second segment is duplicated under the next sequence number
    Then `audit verify` with the verifier material exits 1 with a "header" failure where the tampering starts

  Scenario: a whole log rewritten from scratch without the keys is caught by the seals
    When the whole log is rewritten from scratch with consistent hashes and seals under a key of the intruder's own
    Then `audit verify` without the verifier material reports the log intact
    And `audit verify` with the verifier material exits 1 with a "seal" failure where the tampering starts

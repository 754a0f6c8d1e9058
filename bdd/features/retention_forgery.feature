Feature: Forged and honest retention purges
  An intruder who can write the log directory deletes the oldest segments and appends a
  `retention_purge` record naming them, chained as FORMAT.md says, behind a forged
  `log_resumed`, and seals it with the seal key left on the host. A purge is accepted only when
  sealed history proves every removed record older than the retention period: the first seal of
  what remains dates them, and no key on the host can make an earlier epoch's seal. An honest
  purge by the writer verifies, a checkpoint kept off the host from before it is still checked
  against the leaf hashes the purge kept, and index files, which anyone can rewrite, never make
  the writer purge.

  Scenario: young segments deleted behind a forged purge record
    Given a log with a 2-day retention written over 5 days and closed
    When the intruder deletes every segment but the last and appends a purge record for them behind a forged restart
    Then `audit verify` with the verifier material exits 1 with a "purge" failure where the tampering starts

  Scenario: young segments deleted behind a forged purge record sealed with the key left on the host
    Given a log with a 2-day retention written over 5 days and closed
    When the intruder deletes every segment but the last and appends a purge record for them behind a forged restart, sealed with the key left on the host
    Then `audit verify` with the verifier material exits 1 with a "purge" failure where the tampering starts

  Scenario: an honest purge verifies and a checkpoint held from before it is still checked
    Given a log with a 2-day retention, its checkpoint from the first day kept off the host
    When the writer applies its retention on day 6 and the log is closed
    Then `audit verify` with the verifier material reports the log intact and the records removed by retention
    When the operator verifies against the checkpoint kept off the host
    Then `audit verify` with the verifier material reports the log intact and the records removed by retention
    When the intruder changes a leaf hash in the kept leaf-hash file and recomputes its checksum
    Then `audit verify` with the verifier material exits 1 with a "purge or checkpoint" failure where the tampering starts

  Scenario: forged index time ranges do not make the writer purge young segments
    Given a running log with a 2-day retention holding several segments written in its first minutes
    When the intruder dates every index file 300 days back
    Then the writer's retention run a day later removes nothing
    And `audit verify` with the verifier material exits 1 naming the forged index files

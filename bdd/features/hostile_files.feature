Feature: Every file in the log directory is hostile input
  An intruder who can write the log directory puts a FIFO, a symbolic link or a huge file where a
  file of the log belongs, prepares the directory before the log is created, or edits the log's
  description of itself. Every command answers promptly and says what it found: a hostile
  checkpoint, segment or log.meta is a failure of the log for `audit verify`, a clear error for
  the other commands and the logger, and never a hang or a process that reads without bound.

  Scenario: a FIFO in place of the checkpoint
    Given a closed log of several segments written by the real logger
    When the intruder replaces "checkpoint" with a FIFO
    Then `audit verify` with the verifier material exits 1 promptly saying "checkpoint is refused: it is a FIFO"
    And "audit checkpoint" exits 3 promptly saying "it is a FIFO, not a regular file"
    And "audit query" still answers promptly with exit 0

  Scenario: the checkpoint is a symbolic link to /dev/zero
    Given a closed log of several segments written by the real logger
    When the intruder replaces "checkpoint" with a symbolic link to "/dev/zero"
    Then `audit verify` with the verifier material exits 1 promptly saying "checkpoint is refused: it is a symbolic link"
    And "audit checkpoint" exits 3 promptly saying "it is a symbolic link"

  Scenario: a FIFO in place of the last segment
    Given a closed log of several segments written by the real logger
    When the intruder replaces the last segment with a FIFO
    Then `audit verify` with the verifier material exits 1 promptly saying "segment file refused: it is a FIFO"
    And "audit export --format jsonl" exits 3 promptly saying "it is a FIFO, not a regular file"
    And the logger refuses promptly to start on the log saying "it is a FIFO, not a regular file"

  Scenario: a FIFO in place of log.meta stops the logger and fails verification
    Given a closed log of several segments written by the real logger
    When the intruder replaces "log.meta" with a FIFO
    Then the logger refuses promptly to start on the log saying "it is a FIFO, not a regular file"
    And `audit verify` with the verifier material exits 1 promptly saying "log.meta is refused: it is a FIFO"

  Scenario: a FIFO in place of the seal key stops the logger
    Given a closed log of several segments written by the real logger
    When the intruder replaces "seal.key" with a FIFO
    Then the logger refuses promptly to start on the log saying "it is a FIFO, not a regular file"

  Scenario: an index file far larger than its segment could need is not read
    Given a closed log of several segments written by the real logger
    When the intruder grows the first segment's index to 4 GiB
    Then "audit query --kind auth.failure" still answers promptly with exit 0

  Scenario: an empty directory prepared by another user is not made a log
    Given an empty directory owned by another user
    When the operator runs "audit init" on it
    Then it exits 2 saying "owned by another user"
    And the directory is still empty

  Scenario: an edited service id in log.meta fails verification with the material
    Given a closed log of several segments written by the real logger
    When the intruder renames the service in log.meta to "payments-prod", keeping it consistent
    Then `audit verify` with the verifier material exits 1 promptly saying "log.meta's origin differs from the verifier material"
    And the report made with the verifier material names the service "svc-bdd-1", not "payments-prod"

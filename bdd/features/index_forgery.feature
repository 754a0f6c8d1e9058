Feature: Forged index files
  Each closed segment has an index file beside it, so that a search reads only the frames it
  needs. An intruder who writes the log directory can rewrite an index and recompute both of its
  SHA-256 checksums, as FORMAT.md describes them. A search must still find every matching
  record and never print a record that is not in the log, and verification must report the
  forged index, with or without the verifier material.

  Scenario: an index rewritten without an actor's postings does not hide the actor's records
    Given a closed log of several segments written by the real logger
    When every index file is rewritten without the postings of "mallory", both checksums recomputed
    Then `audit query --actor mallory` prints every record of "mallory" in the log
    And `audit query` notes on standard error that it did not use the forged index
    And `audit verify` with and without the verifier material exits 1 with an "index" failure

  Scenario: an index entry pointing behind a torn tail adds no record to a search
    Given a closed log of several segments written by the real logger
    When a frame naming "mallory" is hidden behind a torn tail of the last segment and its index points at it
    Then `audit query --actor mallory` prints every record of "mallory" in the log
    And the hidden record is not printed
    And `audit verify` with and without the verifier material exits 1 with an "index" failure

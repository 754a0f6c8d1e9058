Feature: Model shards sealed in VRAM
  A GPU worker seals each model shard when it loads it and verifies the seal, re-hashing the
  bytes where they lie, before each inference. Every step is an audit event in the worker's
  real log. A flipped byte in device memory, a forged or altered seal, or a device that cannot
  keep the weights in plain device memory must each be refused with a specific error and
  recorded. The simulated GPU of the host backend stands in for a real one, and says so in
  every event it causes.

  Scenario: a sealed shard verifies in place and the log says so
    Given a VRAM manager on a simulated GPU that audits into a real log
    When a model shard is sealed
    And the shard is verified before inference
    Then verification succeeds
    And the log records "vram.sealed" for the shard
    And the log records "seal.verified" for the shard
    And `audit query` finds the verification of the shard
    And `audit verify` with the verifier material reports the log intact

  Scenario: one flipped byte in device memory is caught and the shard refused
    Given a VRAM manager on a simulated GPU that audits into a real log
    When a model shard is sealed
    And one byte of the shard is flipped in device memory
    And the shard is verified before inference
    Then verification fails with a digest mismatch naming the sealed digest
    And the shard is refused again on every later verification
    And the log records the failed verification with the sealed digest and the digest found
    And the log records "security.integrity_violation" for the shard
    And `audit verify` with the verifier material reports the log intact

  Scenario Outline: a forged seal is rejected and audited: <forgery>
    Given a VRAM manager on a simulated GPU that audits into a real log
    When a model shard is sealed
    And a seal is forged with "<forgery>"
    And the forged seal is presented for verification
    Then verification fails with a seal mismatch
    And the genuine seal still verifies
    And the log records the failed verification of the forged seal
    And `audit verify` with the verifier material reports the log intact

    Examples:
      | forgery                          |
      | one bit of the signature flipped |
      | an all-zero signature            |
      | a larger size                    |
      | the digest of other bytes        |
      | another device                   |
      | a later sealing time             |
      | another shard's id               |

  Scenario: an integrated GPU fails the VRAM-only policy and the worker refuses to start
    Given a new audit log written by the real logger
    When a VRAM manager is started on an integrated GPU
    Then the manager refuses to start with a policy violation
    And the log records "security.policy_violation"
    And `audit verify` with the verifier material reports the log intact

  Scenario: managed memory fails the VRAM-only policy and the shard is refused
    Given a new audit log written by the real logger
    When a VRAM manager is started on a device whose allocations are managed memory
    And a model shard is sealed
    Then sealing fails with a policy violation and nothing stays allocated
    And the log records "security.policy_violation"
    And `audit verify` with the verifier material reports the log intact

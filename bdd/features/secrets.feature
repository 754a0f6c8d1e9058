Feature: Secrets never reach the log or its outputs
  Secrets pass close to events all the time: the bearer token a client presented, the prompt of
  an inference task, the log's own initial seal key, the worker secret that seals model shards.
  None of them may appear in any stored byte (every file of the log directory is scanned, raw,
  escaped, hex and base64), in an export, a query result, a verification report, or the error
  and debug text of the values that handled them. A device pointer that a careless caller
  writes into a free-text reason is evidence and is kept; but no code path of the system
  produces one.

  Scenario: a bearer token is recorded only by its fingerprint
    Given a new audit log written by the real logger
    When a client authenticates with the bearer token "sk-live-7Hq2xVbN9pLm4RtY8wKc3ZdF" and the service records it by fingerprint
    Then none of the secrets appears in any file of the log directory
    And none of the secrets appears in the output of the audit command
    And none of the secrets appears in the debug or error text of the values that handled them
    And the log shows the token's fingerprint in its place

  Scenario: a prompt is recorded only by its length and digest
    Given a new audit log written by the real logger
    When a client submits a task with the prompt "Summarise the merger terms of Project Nightjar for the board" and the service records it by digest
    Then none of the secrets appears in any file of the log directory
    And none of the secrets appears in the output of the audit command
    And none of the secrets appears in the debug or error text of the values that handled them
    And the log shows the prompt's length and digest in its place

  Scenario: the log's initial seal key stays with the verifier
    Given a new audit log written by the real logger
    When events are written and the log is closed and reopened
    Then none of the secrets appears in any file of the log directory
    And none of the secrets appears in the output of the audit command
    And none of the secrets appears in the debug or error text of the values that handled them

  Scenario: the worker secret that seals model shards stays in the worker
    Given a VRAM manager on a simulated GPU that audits into a real log
    When a shard is sealed, verified, corrupted, verified again and released
    Then none of the secrets appears in any file of the log directory
    And none of the secrets appears in the output of the audit command
    And none of the secrets appears in the debug or error text of the values that handled them

  Scenario: a device pointer written by a careless caller is kept as evidence
    Given a new audit log written by the real logger
    When a careless caller writes the device pointer "0x7f3a9c000000" into a reason
    Then the pointer is kept as evidence, exactly as the caller wrote it
    And `audit verify` with the verifier material reports the log intact

  Scenario: no VRAM event or error carries a device pointer
    Given a VRAM manager on a simulated GPU that audits into a real log
    When a shard is sealed, verified, corrupted, verified again and released
    Then no VRAM event, error or debug text carries anything that looks like a memory address

  Scenario: error messages name hostile input without carrying it
    Given a new audit log written by the real logger
    When a logger is configured with a service id holding a terminal escape sequence
    And the audit command is given a hostile kind name and a hostile directory
    Then every error message names the problem without a raw dangerous character

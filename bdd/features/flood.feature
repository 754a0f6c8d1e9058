Feature: Floods, huge fields and a full disk
  A client floods a service hoping its own failure event is dropped unnoticed, sends fields of
  a megabyte to exhaust memory, or the disk fills up. `emit` never blocks: a full queue returns
  `BufferFull` to the caller at once, and every refusal is counted and written into the chain
  as an events-dropped record. Critical events have their own lane. A huge field is cut to its
  bound, not refused. A failed write is returned to the caller, never only traced, and the
  next writer recovers the log with every acknowledged event in it.

  Scenario: a burst beyond the queue is refused, counted in the chain, and critical events still land
    Given a new audit log written by a logger whose routine queue holds 16 events
    When a client floods the logger with 3000 routine events in one burst
    And a critical event is emitted after the flood
    Then some events were refused, each with a queue-full error returned to the caller
    And the log holds events-dropped records whose totals equal the refusals, by kind
    And every accepted event and the critical event are in the log
    And `audit verify` with the verifier material reports the log intact and the drops on record

  Scenario: a megabyte of escape sequences in one field is cut to its bound, not refused
    Given a new audit log written by the real logger
    When a client sends a reason of 1024 KiB of terminal escape sequences
    Then the stored reason is escaped, cut to the text bound, and unescapes to a prefix of what was sent
    And `audit verify` with the verifier material reports the log intact

  Scenario: a full disk is reported to the caller and the log recovers
    Given a new audit log written by the real logger through a fault-injecting file layer
    When 5 events are written and made durable
    And the disk fills up while the next event is being written
    Then flushing returned the writer's failure to the caller, and later events are refused with it
    When a new logger opens the same log
    Then every event acknowledged before the failure is in the log, and the recovery is on record
    And `audit verify` with the verifier material reports the log intact

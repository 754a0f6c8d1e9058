Feature: Log injection through the text fields of real events
  A client controls many text fields: the user id it claims, the path it requests, the pool and
  task ids it names, the reasons a service writes down about it. It hopes to forge log lines,
  hide its tracks in a terminal, or smuggle control characters into a SIEM. Each scenario emits
  one real event through the logger into a log on disk, with one hostile payload in one field,
  then reads it back through the store and through the `audit` binary: the event is recorded,
  the stored field is the reversible escaped form of the exact bytes sent, no output of the
  `audit` command carries a raw control, bidi or invisible character or an extra line, and the
  log verifies.

  Background:
    Given a new audit log written by the real logger

  Scenario Outline: <vector> in the actor's user id is recorded, escaped and shown inert
    When an event of kind "auth.success" is emitted with the "<vector>" payload in "actor.user_id"
    Then the event is recorded and nothing was dropped
    And the stored field holds no dangerous character and unescapes to the exact payload
    And the record lists the field as escaped
    And "audit query --format text" shows the record without any raw dangerous character
    And "audit query --format jsonl" shows the record without any raw dangerous character
    And "audit export --format jsonl" shows the record without any raw dangerous character
    And "audit export --format csv" shows the record without any raw dangerous character
    And `audit verify` with the verifier material reports the log intact

    Examples:
      | vector |
      | ANSI colour |
      | ANSI cursor movement |
      | OSC title |
      | OSC 8 hyperlink |
      | CR/LF forged line |
      | NUL truncation |
      | C1 control |
      | RLO bidi override |
      | LRO bidi override |
      | RLI bidi isolate |
      | zero-width characters |
      | tag characters |
      | line and paragraph separators |

  Scenario Outline: <vector> in a failure reason is recorded, escaped and shown inert
    When an event of kind "auth.failure" is emitted with the "<vector>" payload in "reason"
    Then the event is recorded and nothing was dropped
    And the stored field holds no dangerous character and unescapes to the exact payload
    And the record lists the field as escaped
    And "audit query --format text" shows the record without any raw dangerous character
    And "audit query --format jsonl" shows the record without any raw dangerous character
    And "audit export --format jsonl" shows the record without any raw dangerous character
    And "audit export --format csv" shows the record without any raw dangerous character
    And `audit verify` with the verifier material reports the log intact

    Examples:
      | vector |
      | ANSI colour |
      | ANSI cursor movement |
      | OSC title |
      | OSC 8 hyperlink |
      | CR/LF forged line |
      | NUL truncation |
      | C1 control |
      | RLO bidi override |
      | LRO bidi override |
      | RLI bidi isolate |
      | zero-width characters |
      | tag characters |
      | line and paragraph separators |

  Scenario Outline: <vector> in a request path is recorded, escaped and shown inert
    When an event of kind "auth.failure" is emitted with the "<vector>" payload in "path"
    Then the event is recorded and nothing was dropped
    And the stored field holds no dangerous character and unescapes to the exact payload
    And the record lists the field as escaped
    And "audit query --format text" shows the record without any raw dangerous character
    And "audit query --format jsonl" shows the record without any raw dangerous character
    And "audit export --format jsonl" shows the record without any raw dangerous character
    And "audit export --format csv" shows the record without any raw dangerous character
    And `audit verify` with the verifier material reports the log intact

    Examples:
      | vector |
      | ANSI colour |
      | ANSI cursor movement |
      | OSC title |
      | OSC 8 hyperlink |
      | CR/LF forged line |
      | NUL truncation |
      | C1 control |
      | RLO bidi override |
      | LRO bidi override |
      | RLI bidi isolate |
      | zero-width characters |
      | tag characters |
      | line and paragraph separators |

  Scenario Outline: <vector> in a pool id is recorded, escaped and shown inert
    When an event of kind "pool.created" is emitted with the "<vector>" payload in "pool_id"
    Then the event is recorded and nothing was dropped
    And the stored field holds no dangerous character and unescapes to the exact payload
    And the record lists the field as escaped
    And "audit query --format text" shows the record without any raw dangerous character
    And "audit query --format jsonl" shows the record without any raw dangerous character
    And "audit export --format jsonl" shows the record without any raw dangerous character
    And "audit export --format csv" shows the record without any raw dangerous character
    And `audit verify` with the verifier material reports the log intact

    Examples:
      | vector |
      | ANSI colour |
      | ANSI cursor movement |
      | OSC title |
      | OSC 8 hyperlink |
      | CR/LF forged line |
      | NUL truncation |
      | C1 control |
      | RLO bidi override |
      | LRO bidi override |
      | RLI bidi isolate |
      | zero-width characters |
      | tag characters |
      | line and paragraph separators |

  Scenario Outline: <vector> in a task id is recorded, escaped and shown inert
    When an event of kind "task.canceled" is emitted with the "<vector>" payload in "task_id"
    Then the event is recorded and nothing was dropped
    And the stored field holds no dangerous character and unescapes to the exact payload
    And the record lists the field as escaped
    And "audit query --format text" shows the record without any raw dangerous character
    And "audit query --format jsonl" shows the record without any raw dangerous character
    And "audit export --format jsonl" shows the record without any raw dangerous character
    And "audit export --format csv" shows the record without any raw dangerous character
    And `audit verify` with the verifier material reports the log intact

    Examples:
      | vector |
      | ANSI colour |
      | ANSI cursor movement |
      | OSC title |
      | OSC 8 hyperlink |
      | CR/LF forged line |
      | NUL truncation |
      | C1 control |
      | RLO bidi override |
      | LRO bidi override |
      | RLI bidi isolate |
      | zero-width characters |
      | tag characters |
      | line and paragraph separators |

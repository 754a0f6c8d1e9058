Feature: The log directory is exactly where it says it is
  An intruder who can create links cannot make the logger write its log, or the `audit` command
  read one, somewhere other than the path configured: a log directory whose path passes through
  a symbolic link, or holds a `..` component, is refused before anything is created or read.

  Scenario: a new log directory under a symbolic link is refused
    Given a directory elsewhere and a symbolic link to it
    When a logger is started on a new log directory under the link
    Then the logger refuses to start because the path "a component is a symbolic link"
    And nothing was created through the link

  Scenario: an existing log reached through a symbolic link is neither written nor read
    Given a directory elsewhere and a symbolic link to it
    And a log written by the real logger in the directory elsewhere
    When a logger is started on the existing log through the link
    Then the logger refuses to start because the path "a component is a symbolic link"
    And "audit verify" through the link exits 2 saying the path "a component is a symbolic link"
    And "audit export --format jsonl" through the link exits 2 saying the path "a component is a symbolic link"
    And `audit verify` with the verifier material reports the log intact

  Scenario: a log directory path with a parent component is refused
    When a logger is started on a log directory whose path holds a parent component
    Then the logger refuses to start because the path "contains `..`"
    And nothing was created beside it

Feature: Path traversal
  A client names a pool whose id becomes a file path under the service's data directory, and
  tries to climb out of it: `..` components, percent-encoded and double-encoded dots and
  slashes, overlong UTF-8 spelled out, backslashes, full-width look-alikes, absolute paths and
  symbolic links. Input validation must refuse every form, with a message that names the
  problem without echoing the input, and the service records a `PathTraversalAttempt` holding
  the exact text sent (escaped), which the log keeps as evidence.

  Background:
    Given a new audit log written by the real logger
    And a data directory the service serves pool files from

  Scenario Outline: a traversal through a pool id is refused and recorded: <input>
    When a client asks for pool "<input>"
    Then the pool id is rejected by input validation without echoing it
    And the path is rejected by input validation as "<rejected as>" without echoing it
    And a path traversal attempt is recorded with the exact path sent
    And `audit verify` with the verifier material reports the log intact

    Examples: parent components
      | input                            | rejected as      |
      | pool-../../../etc/passwd         | parent traversal |
      | ../../../etc/passwd              | parent traversal |
      | pools/../../secret.txt           | parent traversal |
      | pools/./../../../../etc/shadow   | parent traversal |

    Examples: encoded and look-alike forms
      | input                            | rejected as                   |
      | pool-%2e%2e%2f%2e%2e%2fetc%2fpasswd | forbidden character U+0025 |
      | %252e%252e%252fetc%252fpasswd    | forbidden character U+0025    |
      | ..%c0%af..%c0%afetc%c0%afpasswd  | forbidden character U+0025    |
      | pool-\\xc0\\xae\\xc0\\xae/etc    | forbidden character U+005C    |
      | ..\\..\\windows\\system32        | forbidden character U+005C    |
      | ．．／．．／etc／passwd           | forbidden character U+FF0E    |
      | pool-..;/..;/etc/passwd          | forbidden character U+003B    |

    Examples: absolute paths
      | input                            | rejected as      |
      | /etc/passwd                      | outside the root |
      | /root/.ssh/id_rsa                | outside the root |
      | //etc/passwd                     | outside the root |

  Scenario: a symbolic link that leads out of the data directory is refused and recorded
    Given a symbolic link inside the data directory that leads out of it
    When a client asks for pool "pools/escape/secret.txt"
    Then the pool id is rejected by input validation without echoing it
    And the path is rejected by input validation as "symbolic link escape" without echoing it
    And a path traversal attempt is recorded with the exact path sent
    And `audit verify` with the verifier material reports the log intact

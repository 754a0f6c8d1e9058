#!/usr/bin/env python3
"""Writes cosignature_vectors.json: C2SP tlog-cosignature v1 (Ed25519) known-answer vectors.

This is an independent re-implementation of the formats from the specification text alone:

  * https://c2sp.org/tlog-cosignature (cosignature line, key id with type byte 0x04,
    timestamped_signature, the "cosignature/v1" signed message)
  * https://c2sp.org/signed-note (note layout, Ed25519 log signatures with type byte 0x01,
    verifier keys)
  * https://c2sp.org/tlog-checkpoint (checkpoint body)

It uses only the Python standard library and pyca/cryptography's Ed25519, and never calls this
project's Rust code. Ed25519 signing is deterministic (RFC 8032), so running it again writes the
same bytes:

    pip install cryptography
    python3 testdata/vectors/gen_cosignature_vectors.py > testdata/vectors/cosignature_vectors.json

Before writing anything it verifies the third-party vectors embedded below (a real checkpoint
cosigned by a production witness), so the same code that makes the generated vectors is shown
to agree with an independent witness implementation.

The private key strings (PRIVATE+KEY+<name>+<key id>+base64(0x04 || seed)) follow the
golang.org/x/mod/sumdb/note layout with the cosignature type byte; the specifications define no
private key format, so that form is this project's convention.
"""

import base64
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

DASH = "\u2014"
ED25519 = 0x01
COSIGNATURE_V1 = 0x04
MAX_TIMESTAMP = (1 << 63) - 1

# ---------------------------------------------------------------------------------------------
# Third-party vectors, copied byte for byte.

# florolf/tlog-scales tests/test_signing.py (TestCheckpointSigning.CHECKPOINT, .VKEYS), Apache-2.0,
# at commit 92102757f0a1f1098063f3c0fc2c52353bc11528: a real checkpoint of the
# arche2025h1.staging.ct.transparency.dev log with the log's RFC 6962 (0x05) and Ed25519 (0x01)
# signatures and the cosignatures of four witnesses of the public witness network.
REAL_NOTE = (
    "arche2025h1.staging.ct.transparency.dev\n"
    "1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n"
    "\n"
    "\u2014 arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6h"
    "oGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=\n"
    "\u2014 arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhU"
    "kzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n"
    "\u2014 transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzw"
    "Z2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==\n"
    "\u2014 witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/"
    "iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==\n"
    "\u2014 remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobW"
    "X9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n"
    "\u2014 witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+A"
    "JmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==\n"
)
REAL_LOG_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
# Also in transparency-dev/formats note/note_cosigv1_test.go (TestCoSigV1NewVerifier,
# "native algEd25519CosignatureV1 verifier") and witness/witness_policy_test.go, Apache-2.0.
REAL_WITNESS_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"

# transparency-dev/formats note/note_cosigv1_test.go (TestCoSigV1NewVerifier) and
# note/note_verifier_test.go (sigStoreKeyMaterial), Apache-2.0, at commit
# 0b850f1a7b4a5b70deeacac6535e4b8023809d21.
SIGSTORE_KEY_MATERIAL = (
    "AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4Q"
    "vFK/4sueRoVj//QP22Ni4Qt9DPfkWLc="
)
FORMATS_ED25519_NOTE_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
FORMATS_INVALID_VKEYS = [
    ("wrong number of parts", "bananas.sigstore.dev+12344556"),
    ("invalid base64", "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!"),
    ("invalid algo", "rekor.sigstore.dev+12345678+AwEB"),
    ("invalid keyhash", "rekor.sigstore.dev+NOT_A_NUMBER+" + SIGSTORE_KEY_MATERIAL),
    ("incorrect keyhash", "rekor.sigstore.dev+00000000+" + SIGSTORE_KEY_MATERIAL),
]

# C2SP/C2SP tlog-cosignature.md, the example at the top, CC-BY-4.0. No key is published for
# witness.example.com/w1 (nor for the log), so it can only be parsed.
SPEC_NOTE = (
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zh"
    "cyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX"
    "3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)

# ---------------------------------------------------------------------------------------------
# The formats, from the specification text.


def key_id(name, sig_type, public_key):
    """SHA-256(<name> || "\\n" || type byte || public key)[:4], big-endian."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def raw_public(private):
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def vkey(name, sig_type, public_key):
    encoded = base64.b64encode(bytes([sig_type]) + public_key).decode()
    return f"{name}+{key_id(name, sig_type, public_key).hex()}+{encoded}"


def parse_vkey(text):
    name, kid, encoded = text.split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    assert len(raw) == 33 and key_id(name, raw[0], raw[1:]).hex() == kid, text
    return name, raw[0], raw[1:]


def skey(name, seed):
    public = raw_public(Ed25519PrivateKey.from_private_bytes(seed))
    encoded = base64.b64encode(bytes([COSIGNATURE_V1]) + seed).decode()
    return f"PRIVATE+KEY+{name}+{key_id(name, COSIGNATURE_V1, public).hex()}+{encoded}"


def body(origin, size, root, extensions=()):
    lines = [origin, str(size), base64.b64encode(root).decode(), *extensions]
    return "".join(line + "\n" for line in lines)


def cosigned_message(text, timestamp):
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def sig_line(name, blob):
    return f"{DASH} {name} {base64.b64encode(blob).decode()}\n"


def log_line(name, private, text):
    kid = key_id(name, ED25519, raw_public(private))
    return sig_line(name, kid + private.sign(text.encode()))


def cosignature_line(name, private, text, timestamp, message=None, kid=None):
    if message is None:
        message = cosigned_message(text, timestamp)
    if kid is None:
        kid = key_id(name, COSIGNATURE_V1, raw_public(private))
    return sig_line(name, kid + struct.pack(">Q", timestamp) + private.sign(message))


def split_note(note):
    text, block = note.split("\n\n", 1)
    text += "\n"
    lines = []
    for line in block.splitlines():
        assert line.startswith(DASH + " ")
        name, encoded = line[2:].split(" ")
        lines.append((name, base64.b64decode(encoded, validate=True)))
    return text, lines


def verify(note, vkey_text):
    """The verified timestamps (cosignature) or True (log signature) for vkey_text."""
    name, sig_type, public = parse_vkey(vkey_text)
    kid = key_id(name, sig_type, public)
    key = Ed25519PublicKey.from_public_bytes(public)
    text, lines = split_note(note)
    found = []
    for line_name, blob in lines:
        if line_name != name or blob[:4] != kid:
            continue
        if sig_type == ED25519:
            key.verify(blob[4:], text.encode())
            found.append(True)
        else:
            assert sig_type == COSIGNATURE_V1 and len(blob) == 4 + 8 + 64
            (timestamp,) = struct.unpack(">Q", blob[4:12])
            assert timestamp <= MAX_TIMESTAMP
            key.verify(blob[12:], cosigned_message(text, timestamp))
            found.append(timestamp)
    return found


def rejected(note, vkey_text):
    try:
        return not verify(note, vkey_text)
    except (InvalidSignature, AssertionError):
        return True


def seed(label):
    return hashlib.sha256(b"audit-chain cosignature vectors: " + label.encode()).digest()


# ---------------------------------------------------------------------------------------------


def main():
    # The embedded third-party note verifies with this code before anything is generated.
    assert verify(REAL_NOTE, REAL_LOG_VKEY) == [True]
    assert verify(REAL_NOTE, REAL_WITNESS_VKEY) == [1779573024]
    mutated = bytearray(base64.b64decode("2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg"
                                         "9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw=="))
    mutated[11] ^= 1
    real_bad_time = REAL_NOTE.replace(
        "2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0W"
        "BxtqB0DrAWfBw==",
        base64.b64encode(bytes(mutated)).decode(),
    )
    assert real_bad_time != REAL_NOTE and rejected(real_bad_time, REAL_WITNESS_VKEY)

    spec_text, spec_lines = split_note(SPEC_NOTE)
    spec_blob = spec_lines[1][1]

    log_name = "example.com/log"
    log = Ed25519PrivateKey.from_private_bytes(seed("log"))
    log_vkey = vkey(log_name, ED25519, raw_public(log))
    w1_name, w2_name = "witness.example/w1", "witness.example/w2"
    w1 = Ed25519PrivateKey.from_private_bytes(seed("witness w1"))
    w2 = Ed25519PrivateKey.from_private_bytes(seed("witness w2"))
    w1_vkey = vkey(w1_name, COSIGNATURE_V1, raw_public(w1))
    w2_vkey = vkey(w2_name, COSIGNATURE_V1, raw_public(w2))
    stranger = Ed25519PrivateKey.from_private_bytes(seed("stranger"))

    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    plain = {"origin": log_name, "size": 20852163, "root_base64": base64.b64encode(root).decode(),
             "extensions": []}
    plain_text = body(log_name, 20852163, root)
    ext = {"origin": log_name, "size": 7, "root_base64": base64.b64encode(bytes(range(32))).decode(),
           "extensions": ["extension line one", "second: 2"]}
    ext_text = body(log_name, 7, bytes(range(32)), ext["extensions"])

    def note(text, *lines):
        return text + "\n" + "".join(lines)

    def witness(vkey_text, timestamp, line, skey_text=None):
        out = {"vkey": vkey_text, "timestamp": timestamp, "line": line}
        if skey_text is not None:
            out["skey"] = skey_text
        return out

    valid = []
    t1 = 1679315147
    line = cosignature_line(w1_name, w1, plain_text, t1)
    valid.append({
        "source": "generated (gen_cosignature_vectors.py): the spec example's checkpoint body "
                  "under a generated log key, cosigned at the spec example's time",
        "log_vkey": log_vkey,
        "checkpoint": plain,
        "witnesses": [witness(w1_vkey, t1, line, skey(w1_name, seed("witness w1")))],
        "note": note(plain_text, log_line(log_name, log, plain_text), line),
    })
    t2 = 1700000000
    line = cosignature_line(w1_name, w1, ext_text, t2)
    valid.append({
        "source": "generated: extension lines are part of the cosigned message",
        "log_vkey": log_vkey,
        "checkpoint": ext,
        "witnesses": [witness(w1_vkey, t2, line, skey(w1_name, seed("witness w1")))],
        "note": note(ext_text, log_line(log_name, log, ext_text), line),
    })
    l1 = cosignature_line(w1_name, w1, plain_text, 1700000001)
    l2 = cosignature_line(w2_name, w2, plain_text, 1700000002)
    other = cosignature_line("witness.example/other", stranger, plain_text, 1700000003)
    valid.append({
        "source": "generated: two witnesses and a third unknown one; each known witness's "
                  "cosignature verifies on its own, the unknown line is ignored",
        "log_vkey": log_vkey,
        "checkpoint": plain,
        "witnesses": [
            witness(w1_vkey, 1700000001, l1, skey(w1_name, seed("witness w1"))),
            witness(w2_vkey, 1700000002, l2, skey(w2_name, seed("witness w2"))),
        ],
        "note": note(plain_text, log_line(log_name, log, plain_text), l1, other, l2),
    })
    line = cosignature_line(w2_name, w2, plain_text, MAX_TIMESTAMP)
    valid.append({
        "source": "generated: the largest timestamp the spec allows, 2^63 - 1",
        "log_vkey": log_vkey,
        "checkpoint": plain,
        "witnesses": [witness(w2_vkey, MAX_TIMESTAMP, line, skey(w2_name, seed("witness w2")))],
        "note": note(plain_text, log_line(log_name, log, plain_text), line),
    })
    real_line = [x for x in REAL_NOTE.splitlines() if x.startswith(DASH + " remora.n621.de ")][0]
    valid.append({
        "source": "florolf/tlog-scales tests/test_signing.py (TestCheckpointSigning): a real "
                  "checkpoint of the arche2025h1.staging.ct.transparency.dev log cosigned by the "
                  "production witness remora.n621.de (and three others whose keys are not "
                  "included); the witness key is also in transparency-dev/formats tests",
        "log_vkey": REAL_LOG_VKEY,
        "checkpoint": {"origin": "arche2025h1.staging.ct.transparency.dev", "size": 1432088532,
                       "root_base64": "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=",
                       "extensions": []},
        "witnesses": [witness(REAL_WITNESS_VKEY, 1779573024, real_line + "\n")],
        "note": REAL_NOTE,
    })
    for case in valid:
        for w in case["witnesses"]:
            assert verify(case["note"], w["vkey"]) == [w["timestamp"]], case["source"]
            assert w["line"] in case["note"]
        assert verify(case["note"], case["log_vkey"]) == [True]
        cp = case["checkpoint"]
        assert case["note"].startswith(body(cp["origin"], cp["size"],
                                            base64.b64decode(cp["root_base64"]),
                                            cp["extensions"]) + "\n")

    base_log = log_line(log_name, log, plain_text)
    good = cosignature_line(w1_name, w1, plain_text, t1)
    blob = bytearray(base64.b64decode(good.split(" ")[2]))

    def with_blob(changed, name=w1_name):
        return note(plain_text, base_log, sig_line(name, bytes(changed)))

    flipped_time = bytearray(blob)
    flipped_time[11] ^= 1
    wrong_id = bytearray(blob)
    wrong_id[0] ^= 0x80
    other_size = body(log_name, 20852164, root)
    bad_log = bytearray(base64.b64decode(base_log.split(" ")[2]))
    bad_log[10] ^= 1
    invalid = [
        ("a timestamp byte flipped after signing", w1_vkey,
         with_blob(flipped_time), "invalid witness signature"),
        ("a key id that is not the witness's: the line is ignored", w1_vkey,
         with_blob(wrong_id), "no cosignature"),
        ("another witness name on the line: the line is ignored", w1_vkey,
         with_blob(blob, "witness.example/w9"), "no cosignature"),
        ("the cosignature is over another checkpoint body (size + 1)", w1_vkey,
         note(plain_text, base_log, cosignature_line(w1_name, w1, other_size, t1)),
         "invalid witness signature"),
        ("the witness key made a plain note signature (type 0x01 key id) instead of a "
         "cosignature: the line is ignored", w1_vkey,
         note(plain_text, base_log, log_line(w1_name, w1, plain_text)), "no cosignature"),
        ("signed message without the cosignature/v1 header line", w1_vkey,
         note(plain_text, base_log, cosignature_line(
             w1_name, w1, plain_text, t1, message=f"time {t1}\n{plain_text}".encode())),
         "invalid witness signature"),
        ("signed message with a leading zero in the time line", w1_vkey,
         note(plain_text, base_log, cosignature_line(
             w1_name, w1, plain_text, t1,
             message=f"cosignature/v1\ntime 0{t1}\n{plain_text}".encode())),
         "invalid witness signature"),
        ("timestamp 2^63, over the spec's maximum, though the signature is valid over it",
         w1_vkey, note(plain_text, base_log,
                       cosignature_line(w1_name, w1, plain_text, MAX_TIMESTAMP + 1)),
         "invalid witness signature"),
        ("the witness's name and key id but a signature one byte short", w1_vkey,
         with_blob(blob[:-1]), "invalid witness signature"),
        ("a valid cosignature from another key under the same witness name: the key id "
         "differs, the line is ignored", w1_vkey,
         note(plain_text, base_log, cosignature_line(w1_name, stranger, plain_text, t1)),
         "no cosignature"),
        ("a valid cosignature on a note whose log signature is broken", w1_vkey,
         note(plain_text, sig_line(log_name, bytes(bad_log)), good), "invalid log signature"),
        ("a valid cosignature on a note without the log's signature", w1_vkey,
         note(plain_text, good), "no log signature"),
        ("the real remora.n621.de cosignature with a timestamp byte flipped (derived from the "
         "florolf/tlog-scales vector)", REAL_WITNESS_VKEY, real_bad_time,
         "invalid witness signature"),
    ]
    must_reject = []
    for why, wkey, bad_note, expect in invalid:
        lkey = REAL_LOG_VKEY if wkey == REAL_WITNESS_VKEY else log_vkey
        if expect in ("invalid log signature", "no log signature"):
            assert rejected(bad_note, lkey), why
            assert verify(bad_note, wkey) == [t1], why
        else:
            assert verify(bad_note, lkey) == [True], why
            assert rejected(bad_note, wkey), why
        must_reject.append({"why": why, "log_vkey": lkey, "witness_vkey": wkey,
                            "note": bad_note, "expect": expect})

    w1_public = raw_public(w1)
    wrong_type_id = f"{w1_name}+{key_id(w1_name, ED25519, w1_public).hex()}+" + \
        base64.b64encode(bytes([COSIGNATURE_V1]) + w1_public).decode()
    invalid_vkeys = [
        {"why": f"transparency-dev/formats TestCoSigV1NewVerifier: {why}", "vkey": text}
        for why, text in FORMATS_INVALID_VKEYS
    ]
    invalid_vkeys += [
        {"why": "a note-signature (type 0x01) vkey, transparency-dev/formats "
                "TestCoSigV1NewVerifier; that library converts it, a strict parser refuses it",
         "vkey": FORMATS_ED25519_NOTE_VKEY},
        {"why": "generated: the witness key with a key id computed with type byte 0x01",
         "vkey": wrong_type_id},
        {"why": "generated: the log's note-signature vkey", "vkey": log_vkey},
        {"why": "generated: a name the key id was not computed for",
         "vkey": w1_vkey.replace(w1_name, "witness.example/w3", 1)},
    ]
    for case in invalid_vkeys:
        try:
            name, sig_type, _ = parse_vkey(case["vkey"])
            ok = sig_type == COSIGNATURE_V1
        except (ValueError, AssertionError):
            ok = False
        assert not ok, case["why"]

    out = {
        "_about": "C2SP tlog-cosignature v1 (Ed25519) vectors. Written by "
                  "gen_cosignature_vectors.py, an independent re-implementation from the spec "
                  "text (Python, pyca/cryptography); the real cosigned checkpoint, the witness "
                  "key and the invalid keys are third-party data copied byte for byte (see "
                  "SOURCES.md). Key id = SHA-256(name||0x0A||0x04||pubkey)[:4]; signature = "
                  "key id || timestamp (u64 BE) || Ed25519 over 'cosignature/v1\\ntime <ts>\\n' "
                  "+ checkpoint body. Every 'valid' note also carries an Ed25519 (0x01) log "
                  "signature verifiable with log_vkey.",
        "valid": valid,
        "invalid_must_reject": must_reject,
        "valid_vkeys": [REAL_WITNESS_VKEY, w1_vkey, w2_vkey],
        "invalid_vkeys": invalid_vkeys,
        "spec_example_parse_only": {
            "_note": "C2SP tlog-cosignature.md: no key is published for the witness or the log, "
                     "so only the blob layout can be checked",
            "note": SPEC_NOTE,
            "witness_name": spec_lines[1][0],
            "key_id_hex": spec_blob[:4].hex(),
            "timestamp": struct.unpack(">Q", spec_blob[4:12])[0],
            "signed_message": cosigned_message(spec_text, struct.unpack(">Q", spec_blob[4:12])[0])
            .decode(),
        },
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""An independent verifier of carebank signed records, written from docs/record-format.md alone.

Usage: verify_record.py            checks the test vector published in docs/record-format.md
       verify_record.py HEX        checks one record given as hex (signature ‖ payload)
Needs the `cryptography` package. Exits non-zero if a record fails.
"""
import hashlib
import json
import pathlib
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CONTEXT = b"carebank/record/v1\x00"
MAX_SAFE = 2**53 - 1


def canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def check_values(value):
    if value is None:
        raise ValueError("null is not allowed")
    if isinstance(value, float):
        raise ValueError("non-integer number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE:
        raise ValueError("integer beyond 2^53-1")
    if isinstance(value, list):
        for item in value:
            check_values(item)
    if isinstance(value, dict):
        for item in value.values():
            check_values(item)


def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def verify(record: bytes) -> str:
    """Returns the record id, or raises ValueError saying why the record is refused."""
    if not 65 <= len(record) <= 65536:
        raise ValueError(f"size {len(record)}")
    signature, payload = record[:64], record[64:]
    value = json.loads(payload.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    check_values(value)
    if canonical(value) != payload:
        raise ValueError("payload is not canonical JSON")
    if value.get("v") != 1:
        raise ValueError(f"unsupported version {value.get('v')}")
    author = bytes.fromhex(value["author"])
    try:
        Ed25519PublicKey.from_public_bytes(author).verify(signature, CONTEXT + payload)
    except InvalidSignature as e:
        raise ValueError("bad signature") from e
    return hashlib.sha256(payload).digest()[:16].hex()


def vector_from_doc():
    doc = (pathlib.Path(__file__).resolve().parent.parent / "record-format.md").read_text(encoding="utf-8")
    vector = doc[doc.index("## Test vector"):]
    payload = re.search(r"```\n(.*?)\n```", vector, re.S).group(1).encode("utf-8")
    signature = re.search(r"Signature over [^\n]*\n`([0-9a-f]{128})`", vector).group(1)
    record_id = re.search(r"Record id: `([0-9a-f]{32})`", vector).group(1)
    return bytes.fromhex(signature) + payload, record_id


def main():
    if len(sys.argv) > 1:
        print(verify(bytes.fromhex(sys.argv[1])))
        return
    record, expected_id = vector_from_doc()
    got = verify(record)
    assert got == expected_id, f"id {got} != documented {expected_id}"
    refused = 0
    for i in range(len(record)):
        altered = bytearray(record)
        altered[i] ^= 1
        try:
            verify(bytes(altered))
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            refused += 1
    assert refused == len(record), f"only {refused} of {len(record)} single-bit changes refused"
    print(f"verify_record.py: test vector verified (id {got}); all {refused} single-bit alterations refused")


if __name__ == "__main__":
    main()

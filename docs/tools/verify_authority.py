#!/usr/bin/env python3
"""An independent verifier of authority chains, written from docs/authority-format.md alone, run
on the test vectors of docs/authority-vectors.json: decodes the chains, checks their canonical
form, every signature (pure Ed25519 over the context and the statement's canonical JSON), the
validity windows and the level rules, and reproduces the documented verdicts and refusals. Then
the month close of the vectors, by docs/record-format.md ("Version 2", `month_close`) and
docs/report-format.md ("Verifying a month close"), signed by the town centre itself (so it needs
no enrolment records). Needs the `cryptography` package."""

import hashlib
import json
import pathlib
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CONTEXT = b"carebank/authority/v1\x00"
FORMAT = "carebank/authority-chain/v1"


class Refused(ValueError):
    pass


def canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def decode(data: bytes):
    if len(data) > 16384:
        raise Refused("too large")
    chain = json.loads(data)
    if canonical(chain) != data:
        raise Refused("not canonical")
    if chain.get("format") != FORMAT or set(chain) != {"certificates", "format"}:
        raise Refused("not a chain of this format")
    return chain["certificates"]


def check_signature(cert):
    statement = {k: v for k, v in cert.items() if k != "signature"}
    sig = cert["signature"]
    if len(sig) != 128 or sig != sig.lower():
        raise Refused("signature is not 128 lowercase hex characters")
    if not (0 <= cert["valid_from_ms"] < cert["valid_until_ms"] <= 7_258_118_400_000):
        raise Refused("validity window")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(cert["issuer"])).verify(
            bytes.fromhex(sig), CONTEXT + canonical(statement))
    except InvalidSignature:
        raise Refused(f"bad signature on the {cert['level']} certificate")


def verify(certs, root: str, at_ms: int):
    if not 1 <= len(certs) <= 3:
        raise Refused("length")
    above = None
    district = None
    for i, cert in enumerate(certs):
        check_signature(cert)
        if not cert["valid_from_ms"] <= at_ms < cert["valid_until_ms"]:
            raise Refused(f"the {cert['level']} certificate does not hold at {at_ms}")
        level = cert["level"]
        if level == "province" and i == 0:
            expected = root
            if cert["subject"] != root:
                raise Refused("another province")
        elif level == "district" and above is None:
            expected = root
        elif level == "district" and above["level"] == "province":
            expected = above["subject"]
        elif level in ("town", "official") and above is not None and above["level"] == "district":
            expected = above["subject"]
        else:
            raise Refused(f"a {level} certificate may not stand at position {i + 1}")
        if cert["issuer"] != expected:
            raise Refused(f"the {level} certificate is not issued by the key above it")
        if level == "district":
            district = cert["subject"]
        above = cert
    return {"level": above["level"], "subject": above["subject"], "district": district}


HEADER = struct.Struct(">2sBB16s32sQ16sQI16sI")


def verify_month_close(record: bytes, root: str):
    """A close signed by its town centre: (id, body, town verdict)."""
    signature, payload = record[:64], record[64:]
    magic, version, klass, circle, author, seq, prev, hlc_ms, counter, key_id, body_len = \
        HEADER.unpack(payload[:HEADER.size])
    body = payload[HEADER.size:]
    if (magic, version, klass, key_id, body_len) != (b"CB", 2, 0, bytes(16), len(body)):
        raise Refused("not a version-2 record in the clear of class 0")
    Ed25519PublicKey.from_public_bytes(author).verify(signature, b"carebank/record/v2\x00" + payload)
    close = json.loads(body)
    if canonical(close) != body or close.pop("type") != "month_close":
        raise Refused("not a canonical month close")
    town = verify(close["town"]["certificates"], root, hlc_ms)
    if town["level"] != "town" or town["subject"] != author.hex():
        raise Refused("not signed by the town centre its chain certifies")
    return hashlib.sha256(payload).digest()[:16].hex(), close, town


def main():
    path = pathlib.Path(__file__).resolve().parent.parent / "authority-vectors.json"
    v = json.loads(path.read_text(encoding="utf-8"))
    root, at = v["province_root"], v["verified_at_ms"]
    town = decode(v["town_chain"].encode("utf-8"))
    assert verify(town, root, at) == v["town_chain_verdict"], "town verdict"
    official = decode(v["official_chain"].encode("utf-8"))
    assert verify(official, root, at)["level"] == "official"
    for cert, documented in zip(town + official[1:], v["certificates"]):
        statement = {k: x for k, x in cert.items() if k != "signature"}
        assert (CONTEXT + canonical(statement)).hex() == documented["signing_message_hex"]
        assert cert["signature"] == documented["signature"]
    refusals = [
        lambda: verify(town, root, town[-1]["valid_until_ms"]),
        lambda: verify(town, v["keys"][1]["public_key"], at),  # the district's key as the root
        lambda: verify(town[-1:], root, at),
    ]
    for i, attempt in enumerate(refusals):
        try:
            attempt()
        except Refused:
            continue
        sys.exit(f"verify_authority.py: refusal {i + 1} was accepted")
    altered = json.loads(v["town_chain"])
    altered["certificates"][2]["name"] = "别镇"
    try:
        verify(decode(canonical(altered)), root, at)
        sys.exit("verify_authority.py: an altered certificate was accepted")
    except Refused:
        pass
    m = v["month_close"]
    record_id, close, town_verdict = verify_month_close(bytes.fromhex(m["record_hex"]), root)
    assert record_id == m["record_id"], "month close id"
    assert (close["month"], close["version"]) == (m["verdict"]["month"], m["verdict"]["version"])
    assert town_verdict["district"] == m["verdict"]["district"]
    print("verify_authority.py: the authority vectors and the month close verify; "
          "4 altered or misplaced chains refused")


if __name__ == "__main__":
    main()

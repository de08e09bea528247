#!/usr/bin/env python3
"""An independent verifier of authority chains, written from docs/authority-format.md alone, run
on the test vectors of docs/authority-vectors.json: decodes the chains, checks their canonical
form, every signature (pure Ed25519 over the context and the statement's canonical JSON), the
validity windows and the level rules, and reproduces the documented verdicts and refusals.
Needs the `cryptography` package."""

import json
import pathlib
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
    print("verify_authority.py: the authority vectors verify; 4 altered or misplaced chains refused")


if __name__ == "__main__":
    main()

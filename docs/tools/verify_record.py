#!/usr/bin/env python3
"""An independent verifier of carebank signed records, written from docs/record-format.md alone.

Reads both formats: version 1 (signature ‖ canonical JSON of the envelope) and version 2
(signature ‖ 108-byte binary header ‖ canonical JSON of the body).

Usage: verify_record.py            checks the test vectors published in docs/record-format.md
       verify_record.py HEX        checks one record given as hex (signature ‖ payload)
Needs the `cryptography` package. Exits non-zero if a record fails.
"""
import hashlib
import json
import pathlib
import re
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CONTEXT = b"carebank/record/v1\x00"
CONTEXT_V2 = b"carebank/record/v2\x00"
MAX_SAFE = 2**53 - 1
MIN_RECORD, MAX_RECORD = 65, 65536

# Version 2 header: "CB" ‖ version u8 ‖ class u8 ‖ circle[16] ‖ author[32] ‖ seq u64 ‖ prev[16]
# ‖ hlc_ms u64 ‖ hlc_counter u32 ‖ key_id[16] ‖ body_len u32, integers big-endian, no padding.
MAGIC = b"CB"
HEADER = struct.Struct(">2sBB16s32sQ16sQI16sI")
HEADER_LEN = HEADER.size
if HEADER_LEN != 108:
    raise SystemExit("verify_record.py: the header layout is not 108 bytes")
HEADER_FIELDS = (
    "magic", "version", "class", "circle", "author", "seq", "prev",
    "hlc_ms", "hlc_counter", "key_id", "body_len",
)
ZERO_ID = bytes(16)
CLASS_OF_TYPE = {
    "site": 0, "enrolment": 0, "revocation": 0, "ledger_rules": 0, "epoch_key": 0, "key_grant": 0,
    "elder": 1, "visit": 1, "follow_up_done": 1, "service": 1, "correction": 1, "ledger": 1,
    "member_profile": 1, "access_log": 1, "consent": 1, "erasure": 0, "month_close": 0,
}
CLASS_NAMES = {0: "trust", 1: "care"}


class Refused(ValueError):
    """A record refused, with the doc's name for the reason (`short header`, `class mismatch`…)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


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


def canonical_json(data: bytes):
    """Parses `data` as canonical JSON, or raises Refused("encoding")."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
        check_values(value)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise Refused("encoding", str(e)) from e
    if canonical(value) != data:
        raise Refused("encoding", "payload is not canonical JSON")
    return value


def check_signature(author: bytes, signature: bytes, message: bytes):
    try:
        Ed25519PublicKey.from_public_bytes(author).verify(signature, message)
    except (InvalidSignature, ValueError) as e:
        raise Refused("bad signature") from e


def require(condition, message: str):
    """A check of the published vectors (not `assert`, which `python3 -O` would skip)."""
    if not condition:
        raise SystemExit(f"verify_record.py: FAILED: {message}")


def record_id(payload: bytes) -> str:
    return hashlib.sha256(payload).digest()[:16].hex()


def is_v2(payload: bytes) -> bool:
    return payload[:2] == MAGIC and payload[2:3] == b"\x02"


def parse_header(payload: bytes) -> dict:
    """The version-2 header at the start of `payload` (which starts with "CB" 0x02), checked in
    the documented order: short header, unknown class, integer range, chain position, sealed
    outside care, body length."""
    if len(payload) < HEADER_LEN:
        raise Refused("short header", f"{len(payload)} bytes")
    header = dict(zip(HEADER_FIELDS, HEADER.unpack_from(payload)))
    if header["magic"] != MAGIC or header["version"] != 2:
        raise Refused("encoding", "not a version-2 header")
    if header["class"] not in CLASS_NAMES:
        raise Refused("unknown class", str(header["class"]))
    for field in ("seq", "hlc_ms"):
        if header[field] > MAX_SAFE:
            raise Refused("integer range", f"{field} {header[field]}")
    seq, prev = header["seq"], header["prev"]
    if seq < 1 or (seq == 1) != (prev == ZERO_ID):
        raise Refused("chain position", f"seq {seq}, prev {'none' if prev == ZERO_ID else prev.hex()}")
    if header["key_id"] != ZERO_ID and header["class"] != 1:
        raise Refused("sealed outside care", f"a class {header['class']} header names key {header['key_id'].hex()}")
    if header["body_len"] != len(payload) - HEADER_LEN:
        raise Refused("body length", f"header says {header['body_len']}, found {len(payload) - HEADER_LEN}")
    return header


def verify_v1(signature: bytes, payload: bytes) -> dict:
    value = canonical_json(payload)
    if not isinstance(value, dict):
        raise Refused("encoding", "not an envelope")
    if value.get("v") != 1:
        raise Refused("version", f"unsupported version {value.get('v')}")
    try:
        author = bytes.fromhex(value["author"])
    except (KeyError, TypeError, ValueError) as e:
        raise Refused("encoding", "author") from e
    check_signature(author, signature, CONTEXT + payload)
    return value


def verify_v2(signature: bytes, payload: bytes) -> dict:
    header = parse_header(payload)
    if header["key_id"] != ZERO_ID:
        raise Refused("sealed body", f"sealed under key {header['key_id'].hex()}")
    body = canonical_json(payload[HEADER_LEN:])
    kind = body.get("type") if isinstance(body, dict) else None
    if not isinstance(kind, str) or kind not in CLASS_OF_TYPE:
        raise Refused("encoding", f"unknown body type {kind!r}")
    if CLASS_OF_TYPE[kind] != header["class"]:
        raise Refused("class mismatch", f"a {kind} in class {CLASS_NAMES[header['class']]}")
    check_signature(header["author"], signature, CONTEXT_V2 + payload)
    return {"header": header, "body": body}


def verify_record(record: bytes):
    """Returns (version, id, decoded), or raises Refused saying why the record is refused."""
    if not MIN_RECORD <= len(record) <= MAX_RECORD:
        raise Refused("size", f"{len(record)} bytes")
    signature, payload = record[:64], record[64:]
    if is_v2(payload):
        return 2, record_id(payload), verify_v2(signature, payload)
    return 1, record_id(payload), verify_v1(signature, payload)


def verify(record: bytes) -> str:
    """Returns the record id, or raises ValueError (Refused) saying why the record is refused."""
    return verify_record(record)[1]


def doc_text() -> str:
    return (pathlib.Path(__file__).resolve().parent.parent / "record-format.md").read_text(encoding="utf-8")


def one(pattern: str, text: str, what: str) -> str:
    match = re.search(pattern, text, re.S)
    require(match, f"record-format.md: {what} not found")
    return match.group(1)


def vector_v1_from_doc(doc: str):
    start = doc.index("\n## Test vector\n")
    end = doc.find("\n## ", start + 1)
    vector = doc[start:end if end >= 0 else len(doc)]
    payload = one(r"```\n(.*?)\n```", vector, "v1 payload").encode("utf-8")
    signature = one(r"Signature over [^\n]*\n`([0-9a-f]{128})`", vector, "v1 signature")
    expected_id = one(r"Record id: `([0-9a-f]{32})`", vector, "v1 id")
    return bytes.fromhex(signature) + payload, expected_id


def vector_v2_from_doc(doc: str) -> dict:
    start = doc.index("\n### Test vector (version 2)\n")
    end = doc.find("\n## ", start + 1)
    vector = doc[start:end if end >= 0 else len(doc)]
    blocks = re.findall(r"```\n(.*?)\n```", vector, re.S)
    require(len(blocks) == 2, "record-format.md: the v2 vector has a payload and a body block")
    rows = re.findall(r"^\| (\d+) \| `([0-9a-f]+)` \| (\w+) \|", vector, re.M)
    return {
        "seed": bytes.fromhex(one(r"Secret key seed[^\n]*\n`([0-9a-f]{64})`", vector, "v2 seed")),
        "public_key": one(r"Public key[^\n]*\n`([0-9a-f]{64})`", vector, "v2 public key"),
        "payload": bytes.fromhex("".join(blocks[0].split())),
        "body": blocks[1].encode("utf-8"),
        "signature": bytes.fromhex(one(r"Signature over [^\n]*\n`([0-9a-f]{128})`", vector, "v2 signature")),
        "id": one(r"Record id \(version 2\): `([0-9a-f]{32})`", vector, "v2 id"),
        "header_rows": [(int(o), bytes.fromhex(h), f) for o, h, f in rows],
    }


def refused_reason(record: bytes):
    try:
        verify_record(record)
    except Refused as e:
        return e.reason
    return None


def every_single_bit_change_refused(record: bytes) -> int:
    refused = 0
    for i in range(len(record)):
        for bit in range(8):
            altered = bytearray(record)
            altered[i] ^= 1 << bit
            if refused_reason(bytes(altered)) is not None:
                refused += 1
    require(refused == 8 * len(record), f"only {refused} of {8 * len(record)} single-bit changes refused")
    return refused


def check_v1(doc: str):
    record, expected_id = vector_v1_from_doc(doc)
    version, got, _ = verify_record(record)
    require(version == 1, f"v1 vector read as version {version}")
    require(got == expected_id, f"id {got} != documented {expected_id}")
    refused = every_single_bit_change_refused(record)
    print(f"verify_record.py: version-1 test vector verified (id {got}); "
          f"all {refused} single-bit alterations refused")
    return record


def check_v2(doc: str, v1_record: bytes):
    v = vector_v2_from_doc(doc)
    key = Ed25519PrivateKey.from_private_bytes(v["seed"])
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    require(public.hex() == v["public_key"], "the seed's public key is not the documented one")
    payload = v["payload"]
    record = v["signature"] + payload

    # The header, parsed by this script, against the documented field-by-field breakdown.
    header = parse_header(payload)
    offset = 0
    for row_offset, raw, field in v["header_rows"]:
        require(row_offset == offset, f"header table: {field} at {row_offset}, expected {offset}")
        require(payload[offset:offset + len(raw)] == raw, f"header table: {field} bytes differ from the payload")
        value = header[field]
        packed = value if isinstance(value, bytes) else value.to_bytes(len(raw), "big")
        require(packed == raw, f"header table: {field} {raw.hex()} but parsed {packed.hex()}")
        offset += len(raw)
    require(offset == HEADER_LEN, f"header table covers {offset} bytes, not {HEADER_LEN}")
    expected = {
        "class": 1, "circle": bytes.fromhex("0123456789abcdef0123456789abcdef"), "author": public,
        "seq": 3, "prev": bytes.fromhex("00112233445566778899aabbccddeeff"),
        "hlc_ms": 1_793_581_200_000, "hlc_counter": 0, "key_id": ZERO_ID, "body_len": 264,
    }
    for field, want in expected.items():
        require(header[field] == want, f"header {field}: {header[field]!r} != {want!r}")
    require(payload[HEADER_LEN:] == v["body"], "the documented body is not the payload's body")
    v1_value = json.loads(v1_record[64:].decode("utf-8"))
    require(canonical(v1_value["body"]) == v["body"], "the v2 body is not the v1 vector's body")
    for field, v1_field in (("circle", "circle"), ("author", "author")):
        require(header[field].hex() == v1_value[v1_field], f"{field} differs from the v1 vector")
    require((header["hlc_ms"], header["hlc_counter"]) == (v1_value["hlc"]["ms"], v1_value["hlc"]["counter"]),
            "the clock differs from the v1 vector")

    # Signature (deterministic ed25519 from the seed), verification and id.
    signature = key.sign(CONTEXT_V2 + payload)
    require(signature == v["signature"], "signing the payload with the seed gives another signature")
    version, got, decoded = verify_record(record)
    require(version == 2, f"v2 vector read as version {version}")
    require(got == v["id"], f"id {got} != documented {v['id']}")
    require(decoded["body"]["type"] == "service", "the v2 vector's body is not a service")
    require(refused_reason(key.sign(CONTEXT + payload) + payload) == "bad signature",
            "a version-1 context signature verified a version-2 payload")

    # A changed header byte breaks the signature itself (before any structural check).
    header_refusals = 0
    for i in range(HEADER_LEN):
        altered = bytearray(payload)
        altered[i] ^= 0x01
        try:
            check_signature(public, v["signature"], CONTEXT_V2 + bytes(altered))
        except Refused:
            header_refusals += 1
    require(header_refusals == HEADER_LEN, f"signature held for {HEADER_LEN - header_refusals} altered header bytes")
    refused = every_single_bit_change_refused(record)
    print(f"verify_record.py: version-2 test vector verified (id {got}, header: class care, seq 3, "
          f"body {header['body_len']} bytes); signature fails for each of the {header_refusals} header "
          f"bytes changed; all {refused} single-bit alterations refused")

    # Each documented refusal, for its own reason: the altered payloads are signed again with
    # the seed, so only the rule under test can refuse them.
    def signed(p: bytes) -> bytes:
        return key.sign(CONTEXT_V2 + p) + p

    def with_header(**fields) -> bytes:
        values = dict(header, **fields)
        return HEADER.pack(*(values[f] for f in HEADER_FIELDS)) + payload[HEADER_LEN:]

    body = payload[HEADER_LEN:]
    spaced = body.replace(b'"detail":', b'"detail": ')
    v1_as_v2 = json.loads(v1_record[64:].decode("utf-8"))
    v1_as_v2["v"] = 2
    v1_as_v2 = canonical(v1_as_v2)
    cases = [
        ("class byte 0 (trust) on a service", signed(with_header(**{"class": 0})), "class mismatch"),
        ("class byte 2", signed(with_header(**{"class": 2})), "unknown class"),
        ("key_id set", signed(with_header(key_id=bytes([9] * 16))), "sealed body"),
        ("key_id set on a trust record", signed(with_header(**{"class": 0, "key_id": bytes([9] * 16)})),
         "sealed outside care"),
        ("seq 0", signed(with_header(seq=0)), "chain position"),
        ("seq 2^53", signed(with_header(seq=2**53)), "integer range"),
        ("hlc_ms 2^53", signed(with_header(hlc_ms=2**53)), "integer range"),
        ("seq 1 naming a prev", signed(with_header(seq=1)), "chain position"),
        ("seq 2 with zero prev", signed(with_header(seq=2, prev=ZERO_ID)), "chain position"),
        ("body_len one more", signed(with_header(body_len=265)), "body length"),
        ("body_len one less", signed(with_header(body_len=263)), "body length"),
        ("header cut short", signed(payload[:100]), "short header"),
        ("version byte 3", signed(b"CB\x03" + payload[3:]), "encoding"),
        ("magic CC", signed(b"CC" + payload[2:]), "encoding"),
        ("non-canonical body", signed(with_header(body_len=len(spaced))[:HEADER_LEN] + spaced), "encoding"),
        ("unknown body type", signed(with_header(body_len=len(body) + 1)[:HEADER_LEN]
                                     + body.replace(b'"service"', b'"services"')), "encoding"),
        ("JSON envelope with v 2", key.sign(CONTEXT + v1_as_v2) + v1_as_v2, "version"),
        ("seq 3 signed, sent as seq 4", v["signature"] + with_header(seq=4), "bad signature"),
        ("oversize", signed(with_header(body_len=MAX_RECORD - 64 - HEADER_LEN + 1)[:HEADER_LEN]
                            + b" " * (MAX_RECORD - 64 - HEADER_LEN + 1)), "size"),
    ]
    for name, bad, reason in cases:
        got_reason = refused_reason(bad)
        require(got_reason == reason, f"{name}: refused for {got_reason!r}, expected {reason!r}")
    # Well-formed variations are accepted: a first record (seq 1, no prev), and a trust-class body.
    first = signed(with_header(seq=1, prev=ZERO_ID))
    require(verify_record(first)[0] == 2, "a first record (seq 1, no prev) was refused")
    site = canonical({"kind": "centre", "name": "中心", "site_id": "0123456789abcdef0123456789abcdef", "type": "site"})
    trust = signed(HEADER.pack(*(dict(header, **{"class": 0, "body_len": len(site)})[f] for f in HEADER_FIELDS)) + site)
    require(verify_record(trust)[0] == 2, "a trust-class site record was refused")
    print(f"verify_record.py: {len(cases)} malformed version-2 records refused, each for its documented "
          f"reason; a first record and a trust record accepted")


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 (draft-irtf-cfrg-xchacha, section 2.2): the subkey of XChaCha20."""
    mask = 0xFFFFFFFF

    def rotl(v, c):
        return ((v << c) & mask) | (v >> (32 - c))

    def quarter(s, a, b, c, d):
        s[a] = (s[a] + s[b]) & mask; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & mask; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & mask; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & mask; s[b] = rotl(s[b] ^ s[c], 7)

    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                           (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            quarter(s, a, b, c, d)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def open_sealed(payload: bytes, key: bytes) -> bytes:
    """The plain body of a sealed version-2 payload ("Sealed bodies"), or Refused("unopened")."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    import zstandard

    header, body = payload[:HEADER_LEN], payload[HEADER_LEN:]
    if len(body) < 40:
        raise Refused("unopened", "a sealed body is at least 40 bytes")
    nonce = body[:24]
    try:
        compressed = ChaCha20Poly1305(hchacha20(key, nonce[:16])).decrypt(
            b"\0\0\0\0" + nonce[16:], body[24:], header)
    except InvalidTag as e:
        raise Refused("unopened") from e
    return zstandard.ZstdDecompressor().decompress(compressed, max_output_size=MAX_RECORD)


def check_sealed(doc: str, v2: dict):
    start = doc.index("\n### Test vector (sealed)\n")
    vector = doc[start:]
    block = re.findall(r"```\n(.*?)\n```", vector, re.S)[0]
    payload = bytes.fromhex("".join(block.split()))
    signature = bytes.fromhex(one(r"Signature over [^\n]*\n`([0-9a-f]{128})`", vector, "sealed signature"))
    key_id = one(r"\(`key_id`\): `([0-9a-f]{32})`", vector, "sealed key id")
    key = bytes([0x42] * 32)
    header = parse_header(payload)
    require(header["key_id"].hex() == key_id, "the sealed vector's header names its key")
    require(header["class"] == 1, "the sealed vector is a care record")
    require(payload[:HEADER_LEN - 20] == v2["payload"][:HEADER_LEN - 20],
            "the sealed vector's header is the version-2 vector's up to key_id")
    # Without the key: the signature checks, the body stays unread.
    check_signature(header["author"], signature, CONTEXT_V2 + payload)
    require(refused_reason(signature + payload) == "sealed body", "a keyless verifier stops at the seal")
    plain = open_sealed(payload, key)
    require(plain == v2["body"], "the sealed vector opens to the version-2 vector's body")
    body = canonical_json(plain)
    require(CLASS_OF_TYPE[body["type"]] == header["class"], "the opened body's class")
    # The wrong key, or the body under a changed header, does not open.
    for name, (p, k) in {
        "another key": (payload, bytes([0x43] * 32)),
        "a changed clock": (payload[:78] + bytes([payload[78] ^ 1]) + payload[79:], key),
        "a changed ciphertext byte": (payload[:-1] + bytes([payload[-1] ^ 1]), key),
    }.items():
        try:
            open_sealed(p, k)
        except Refused as e:
            require(e.reason == "unopened", f"{name}: refused as {e.reason}")
        else:
            require(False, f"the sealed vector opened under {name}")
    print("verify_record.py: the sealed vector verifies without its key, opens with it to the "
          "version-2 body, and does not open under another key, header or ciphertext")


def xchacha_open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    """XChaCha20-Poly1305 decryption with this file's HChaCha20 (raises Refused("unopened"))."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    try:
        return ChaCha20Poly1305(hchacha20(key, nonce[:16])).decrypt(b"\0\0\0\0" + nonce[16:], sealed, aad)
    except InvalidTag as e:
        raise Refused("unopened") from e


PERSONAL_CONTEXT = b"carebank/personal/v1\x00"
ELDER_KEY_CONTEXT = b"carebank/elder-key/v1\x00"
PERSONAL_PATHS = {
    "elder": ["name", "birth_year", "consent.given_by"],
    "visit": ["location", "observations", "risk_flags", "follow_ups"],
    "follow_up_done": ["note"],
    "service": ["detail.diet_notes", "detail.skin_condition", "detail.destination", "detail.description"],
    "correction": ["reason"],
    "consent": ["by", "reason"],
}


def open_entry(entry: bytes, circle: bytes, epoch_key: bytes) -> dict:
    """A keyring entry ("Elder keys"): checks its layout and signature, opens the elder key."""
    require(len(entry) == 235, "an entry is 235 bytes")
    signature, body = entry[:64], entry[64:]
    require(body[:3] == b"CK\x01", "entry magic and version")
    fields = {
        "circle": body[3:19], "author": body[19:51], "elder": body[51:67],
        "key_id": body[67:83], "epoch_key_id": body[83:99], "nonce": body[99:123], "wrapped": body[123:],
    }
    require(fields["circle"] == circle, "the entry's circle")
    check_signature(fields["author"], signature, ELDER_KEY_CONTEXT + body)
    fields["key"] = xchacha_open(epoch_key, fields["nonce"], fields["wrapped"],
                                 ELDER_KEY_CONTEXT + circle + fields["elder"] + fields["key_id"])
    return fields


def put_back(body: dict, personal: dict) -> dict:
    """Puts opened personal fields back at their dotted paths, refusing any that is not personal."""
    allowed = PERSONAL_PATHS.get(body["type"], [])
    for path, value in personal.items():
        require(path in allowed, f"{path} is a personal field of a {body['type']}")
        *parents, last = path.split(".")
        node = body
        for name in parents:
            node = node[name]
        require(last not in node, f"{path} is not both sealed and in the clear")
        node[last] = value
    return body


def check_personal(doc: str, v2: dict):
    start = doc.index("\n### Test vectors (personal fields, keyring entry)\n")
    vector = doc[start:]
    blocks = re.findall(r"```\n(.*?)\n```", vector, re.S)
    payload = bytes.fromhex("".join(blocks[0].split()))
    entry = bytes.fromhex("".join(blocks[1].split()))
    signature = bytes.fromhex(one(r"Signature over [^\n]*\n`([0-9a-f]{128})`", vector, "personal signature"))
    epoch_key = bytes([0x42] * 32)
    header = parse_header(payload)
    check_signature(header["author"], signature, CONTEXT_V2 + payload)
    fields = open_entry(entry, header["circle"], epoch_key)
    require(fields["epoch_key_id"] == header["key_id"], "the entry is wrapped under the record's epoch key")
    require(fields["key"] == bytes([0x51] * 32), "the entry carries the documented elder key")
    plain = open_sealed(payload, epoch_key)
    body = canonical_json(plain)
    part = body.pop("personal")
    require(sorted(part) == ["elder", "key", "sealed"], "the personal member's fields")
    require(bytes.fromhex(part["key"]) == fields["key_id"] and bytes.fromhex(part["elder"]) == fields["elder"],
            "the personal part names the entry's key and elder")
    import base64
    boxed = base64.urlsafe_b64decode(part["sealed"] + "=" * (-len(part["sealed"]) % 4))
    aad = PERSONAL_CONTEXT + fields["elder"] + fields["key_id"]
    personal = canonical_json(xchacha_open(fields["key"], boxed[:24], boxed[24:], aad))
    whole = put_back(body, personal)
    require(canonical(whole) == v2["body"], "opened twice, the personal vector is the version-2 body")
    # Erased: without the elder key the body reads without its diet notes, nothing else lost.
    erased = canonical_json(plain)
    erased.pop("personal")
    require("diet_notes" not in erased["detail"] and erased["duration_minutes"] == 45,
            "erased, the service keeps its facts and loses its notes")
    for name, (k, a) in {"another elder key": (bytes([0x52] * 32), aad),
                         "another elder": (fields["key"], PERSONAL_CONTEXT + bytes(16) + fields["key_id"])}.items():
        try:
            xchacha_open(k, boxed[:24], boxed[24:], a)
        except Refused:
            continue
        require(False, f"the personal part opened under {name}")
    altered = entry[:-1] + bytes([entry[-1] ^ 1])
    try:
        open_entry(altered, header["circle"], epoch_key)
    except Refused:
        pass
    else:
        require(False, "an altered entry was accepted")
    print("verify_record.py: the personal vector opens with the epoch key and the elder key from the "
          "keyring entry to the version-2 body; erased, it keeps its facts; the entry's signature checks")


def main():
    if len(sys.argv) > 1:
        print(verify(bytes.fromhex(sys.argv[1])))
        return
    doc = doc_text()
    v1_record = check_v1(doc)
    check_v2(doc, v1_record)
    check_sealed(doc, vector_v2_from_doc(doc))
    check_personal(doc, vector_v2_from_doc(doc))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""An independent check of the sync messages, the Hello digest, the relay's request signature,
the phone-to-phone frames, signed bundles and sealed bundles of docs/sync-protocol.md, written
from that document alone (not from the Rust code).

Usage: verify_sync_vectors.py    reads the test vectors out of docs/sync-protocol.md, rebuilds the
                                 digest and every message body from the fields the document
                                 lists, decompresses each message's zstd frame, checks the
                                 request signature and header, the frames' signatures, the
                                 bundle's signature and opens the sealed bundle.
Needs the `cryptography` and `zstandard` packages. Exits non-zero on any mismatch.
"""

import hashlib
import pathlib
import re
import sys
import base64

import zstandard
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

DOC = pathlib.Path(__file__).resolve().parent.parent / "sync-protocol.md"
RFC8032_TEST1_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_TEST2_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
P = 2**255 - 19


def code_block_after(text: str, marker: str) -> str:
    """The first fenced code block after `marker`, as one string of hex without spaces."""
    start = text.index(marker)
    block = re.search(r"```\n(.*?)```", text[start:], re.S)
    if not block:
        sys.exit(f"no code block after {marker!r}")
    return block.group(1)


def frames(text: str):
    block = code_block_after(text, "frames_match_the_documented_vector")
    request = reply = ""
    current = None
    for line in block.splitlines():
        words = line.split()
        if words and words[0] in ("request", "reply"):
            current = words[0]
            words = words[1:]
        if current == "request":
            request += "".join(words)
        elif current == "reply":
            reply += "".join(words)
    return bytes.fromhex(request), bytes.fromhex(reply)


def check_frames(text: str) -> None:
    request, reply = frames(text)
    circle = bytes([0x11]) * 16
    context = b"carebank/peer/v2\x00"
    assert request[:5] == b"CBP\x02\x01", "request header"
    key, to, time, nonce = request[5:37], request[37:69], request[69:77], request[77:93]
    signature, message = request[93:157], request[157:]
    request_signed = context + b"\x01" + circle + to + time + nonce + hashlib.sha256(message).digest()
    Ed25519PublicKey.from_public_bytes(key).verify(signature, request_signed)
    raw = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    asker = Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1_SEED).public_key()
    assert key == asker.public_bytes(*raw)
    assert int.from_bytes(time, "big") == 1793577600000 and nonce == bytes([0x22]) * 16
    assert message == bytes([1, 2, 3])
    assert reply[:5] == b"CBP\x02\x02", "reply header"
    rkey, rsignature, rmessage = reply[5:37], reply[37:101], reply[101:]
    assert to == rkey, "the request names the phone that answers it"
    answerer = Ed25519PrivateKey.from_private_bytes(RFC8032_TEST2_SEED).public_key()
    assert rkey == answerer.public_bytes(*RAW), "the reply is signed by the RFC 8032 test-2 key"
    # The keys the page prints in full are the RFC 8032 keys used here.
    table = text[text.index("The keys in full"):text.index("frames_match_the_documented_vector") + 4000]
    for seed in (RFC8032_TEST1_SEED, RFC8032_TEST2_SEED):
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(*RAW)
        assert f"`{seed.hex()}` | `{public.hex()}`" in table, f"key table: {seed.hex()}"
    signed = context + b"\x02" + circle + to + time + nonce + hashlib.sha256(rmessage).digest()
    Ed25519PublicKey.from_public_bytes(rkey).verify(rsignature, signed)
    assert rmessage == bytes([4, 5])
    # The request is bound to the phone it names: named to none, its signature does not check.
    unaddressed = context + b"\x01" + circle + bytes(32) + time + nonce + hashlib.sha256(message).digest()
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, unaddressed)
        sys.exit("a request verified for another addressee")
    except Exception:
        pass
    # Any changed bit breaks the request's signature.
    for i in range(93 * 8, 157 * 8, 97):
        bad = bytearray(request)
        bad[i // 8] ^= 1 << (i % 8)
        try:
            Ed25519PublicKey.from_public_bytes(bytes(bad[5:37])).verify(bytes(bad[93:157]), request_signed)
            sys.exit("an altered signature verified")
        except Exception:
            pass
    print("phone-to-phone frames: request and reply signatures check")


def montgomery(ed_public: bytes) -> bytes:
    y = int.from_bytes(ed_public, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")


def check_sealed(text: str) -> None:
    sealed = bytes.fromhex("".join(code_block_after(text, "sealing_matches_the_documented_vector").split()))
    assert sealed[:4] == b"CBE\x01", "sealed header"
    ephemeral = sealed[4:36]
    n = int.from_bytes(sealed[36:38], "big")
    entries = [sealed[38 + 80 * i: 38 + 80 * (i + 1)] for i in range(n)]
    after = 38 + 80 * n
    nonce, ciphertext = sealed[after:after + 12], sealed[after + 12:]
    seed_key = Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1_SEED)
    me = seed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    entry = next(e for e in entries if e[:32] == me)
    secret = X25519PrivateKey.from_private_bytes(hashlib.sha512(RFC8032_TEST1_SEED).digest()[:32])
    shared = secret.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    # The sender's side gives the same secret: X25519(e, mont(recipient)) with e = 32 × 0x33.
    sender = X25519PrivateKey.from_private_bytes(bytes([0x33]) * 32)
    assert sender.exchange(X25519PublicKey.from_public_bytes(montgomery(me))) == shared
    wrap_key = hashlib.sha256(b"carebank/seal/v1\x00" + ephemeral + me + shared).digest()
    content_key = ChaCha20Poly1305(wrap_key).decrypt(bytes(12), entry[32:], None)
    plain = ChaCha20Poly1305(content_key).decrypt(nonce, ciphertext, sealed[:after + 12])
    assert plain == b"CBB", plain
    print("sealed bundle: opened by the recipient's key, content", plain)


def check_bundle(text: str) -> None:
    bundle = bytes.fromhex("".join(code_block_after(text, "signing_matches_the_documented_vector").split()))
    assert bundle[:5] == b"CBB\x02\x01", "bundle header: magic, version 2, kind 1"
    frame, exporter, signature = bundle[5:-96], bundle[-96:-64], bundle[-64:]
    # One zstd frame (RFC 8878) with the content checksum flag set in its frame header descriptor.
    assert frame[:4] == bytes([0x28, 0xB5, 0x2F, 0xFD]) and frame[4] & 0x04, "zstd frame with checksum"
    me = Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1_SEED).public_key()
    assert exporter == me.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    context = b"carebank/bundle/v2\x00"
    Ed25519PublicKey.from_public_bytes(exporter).verify(signature, context + bundle[:-64])
    # Any changed bit before the signature (header, frame, exporter key) breaks it.
    for i in range(0, (len(bundle) - 64) * 8, 7):
        bad = bytearray(bundle)
        bad[i // 8] ^= 1 << (i % 8)
        try:
            Ed25519PublicKey.from_public_bytes(bytes(bad[-96:-64])).verify(bytes(bad[-64:]), context + bytes(bad[:-64]))
            sys.exit(f"a bundle altered at bit {i} verified")
        except Exception:
            pass
    print("signed bundle: the exporter's signature over the header, frame and key checks")


# --- Sync messages (section "Encoding") -------------------------------------------------------


def uint(n: int) -> bytes:
    """Unsigned LEB128, fewest bytes."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n == 0:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def lbytes(b: bytes) -> bytes:
    return uint(len(b)) + b


def doc(name: str) -> bytes:
    assert re.fullmatch(r"records/\d{4}-(0[1-9]|1[0-2])", name)
    return lbytes(name.encode("ascii"))


def heads(hs) -> bytes:
    return uint(len(hs)) + b"".join(hs)


def doc_changes(name: str, hs, flag: int, changes: bytes) -> bytes:
    return doc(name) + heads(hs) + uint(flag) + lbytes(changes)


H1, H2, H3 = bytes([1]) * 32, bytes([2]) * 32, bytes([3]) * 32
CIRCLE = bytes([0x11]) * 16


def digest(docs) -> tuple:
    """The Hello digest of (name, heads) pairs: the bytes hashed, and the digest."""
    hashed = b""
    for name, hs in sorted((d for d in docs if d[1]), key=lambda d: d[0].encode()):
        hashed += name.encode() + b"\x00" + len(hs).to_bytes(4, "big") + b"".join(sorted(hs))
    return hashed, hashlib.sha256(hashed).digest()[:16]


def labelled_block(text: str, marker: str, names) -> dict:
    """A code block of `name field hex` lines (hex continuing on indented lines) after `marker`."""
    values, name, field = {}, None, None
    for line in code_block_after(text, marker).splitlines():
        words = line.split()
        if words and not line.startswith(" ") and words[0] in names:
            name, words = words[0], words[1:]
            field, words = words[0], words[1:]
        if name is not None and words:
            values[(name, field)] = values.get((name, field), "") + "".join(words)
    return {k: bytes.fromhex(v) for k, v in values.items()}


def check_digest(text: str) -> bytes:
    lines = code_block_after(text, "(`the_digest_matches_the_documented_vector`):").splitlines()
    hashed = bytes.fromhex("".join(l for l in lines if not l.startswith("digest")))
    published = bytes.fromhex(next(l for l in lines if l.startswith("digest")).split()[1])
    # Heads given out of order, and a document with no head, which is left out.
    mine_hashed, mine = digest([("records/2026-11", [H2, H1]), ("records/2026-12", [H3]),
                                ("records/2027-01", [])])
    assert hashed == mine_hashed, "the bytes hashed for the digest"
    assert published == mine, "the digest"
    # Document order is by name, not by the order given.
    assert digest([("records/2026-12", [H3]), ("records/2026-11", [H1, H2])])[1] == mine
    print("hello digest:", mine.hex())
    return mine


def open_message(message: bytes) -> bytes:
    """The content of a message's frame (kind, then body), checking the header and the frame."""
    assert message[:4] == b"CBS\x01", "magic and version 1"
    frame = message[5:]
    assert frame[:4] == bytes([0x28, 0xB5, 0x2F, 0xFD]), "one zstd frame"
    assert frame[4] & 0x04, "the frame carries its content checksum"
    d = zstandard.ZstdDecompressor().decompressobj()
    content = d.decompress(frame)
    assert d.eof and not d.unused_data, "exactly one frame, nothing after it"
    # The checksum is the low 4 bytes of XXH64 of the content, at the frame's end; flipping a
    # byte of it must fail decompression.
    bad = bytearray(frame)
    bad[-1] ^= 0x01
    try:
        zstandard.ZstdDecompressor().decompressobj().decompress(bytes(bad))
        sys.exit("a frame with a wrong checksum decompressed")
    except zstandard.ZstdError:
        pass
    assert content[:1] == message[4:5], "the kind in the frame is the header's"
    return content


def check_messages(text: str, the_digest: bytes) -> bytes:
    nov = ("records/2026-11", [H1, H2])
    expected = {
        "hello": bytes([1]) + CIRCLE + the_digest,
        "up_to_date": bytes([2]),
        "heads": bytes([3]) + uint(2) + doc(nov[0]) + heads(nov[1]) + doc("records/2026-12") + heads([H3]),
        "push": bytes([4]) + uint(1) + doc_changes(*nov, 0, bytes([0x0A, 0x0B, 0x0C, 0x0D, 0x0E])),
        "push_part": bytes([4]) + uint(1) + doc_changes(*nov, 2, bytes([0x0A, 0x0B, 0x0C])) + uint(65536),
        "changes": bytes([5]) + uint(2) + doc_changes("records/2026-12", [H3], 1, b"")
        + doc_changes(*nov, 0, bytes([0x0F, 0x10])),
        "refused": bytes([6]) + lbytes("wrong circle".encode()),
        "keys_push": bytes([4]) + uint(0) + uint(0) + uint(2) + bytes([4] * 16) + bytes([5] * 16)
        + uint(1) + lbytes(bytes([0x0E] * 4)),
        "keys_reply": bytes([5]) + uint(0) + uint(1) + bytes([5] * 16) + uint(0),
        "keys_page_push": bytes([4]) + uint(0) + uint(8192) + uint(2) + bytes([4] * 16) + bytes([5] * 16)
        + uint(0) + bytes([0x00] * 16) + bytes([0x7F] * 16),
        "keys_page_reply": bytes([5]) + uint(0) + uint(1) + bytes([5] * 16)
        + uint(1) + lbytes(bytes([0x0E] * 4)) + bytes([0x00] * 16) + bytes([0x20] * 16),
    }
    assert uint(8192) == bytes([0x80, 0x40])
    assert uint(65536) == bytes([0x80, 0x80, 0x04])
    vectors = labelled_block(text, "(`messages_match_the_documented_vectors`):", expected)
    for name, body in expected.items():
        content, message = vectors[(name, "content")], vectors[(name, "message")]
        assert content == body, f"{name}: the content is not the body built from its fields"
        assert open_message(message) == content, f"{name}: the frame does not hold the content"
        assert message[4] == body[0], f"{name}: kind"
    print("sync messages:", ", ".join(expected), "rebuilt from their fields and decompressed")
    return vectors[("hello", "message")]


def check_authorization(text: str, hello: bytes) -> None:
    block = code_block_after(text, "the_header_matches_the_documented_vector")
    lines = block.splitlines()
    sig_at = next(i for i, l in enumerate(lines) if l.startswith("signature"))
    auth_at = next(i for i, l in enumerate(lines) if l.startswith("authorization:"))
    shown_text = "".join(lines[:sig_at]).replace("\\0", "\x00").replace("\\n", "\n").encode()
    signature = bytes.fromhex("".join(w for l in lines[sig_at:auth_at] for w in l.split() if w != "signature"))
    header = "".join(lines[auth_at:]).strip()

    path = "/v1/circles/" + CIRCLE.hex() + "/sync"
    time_ms, nonce = 1793577600000, bytes([0x22]) * 16
    signed = (b"carebank/request/v1\x00" + b"POST\n" + path.encode() + b"\n"
              + hashlib.sha256(hello).hexdigest().encode() + b"\n" + str(time_ms).encode() + b"\n"
              + nonce.hex().encode())
    assert shown_text == signed, "the signed text"
    seed_key = Ed25519PrivateKey.from_private_bytes(RFC8032_TEST1_SEED)
    assert seed_key.sign(signed) == signature, "ed25519 is deterministic: the same signature"

    name, value = header.split(": ", 1)
    assert name == "authorization" and value.startswith("Carebank ")
    parts = value[len("Carebank "):].split(".")
    assert len(parts) == 4, "key.time.nonce.signature"

    def b64(part: str, length: int) -> bytes:
        assert "=" not in part and re.fullmatch(r"[A-Za-z0-9_-]+", part), "base64url, no padding"
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        assert len(raw) == length, f"{length} bytes"
        assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == part, "canonical base64url"
        return raw

    key, nonce_read, sig_read = b64(parts[0], 32), b64(parts[2], 16), b64(parts[3], 64)
    assert key == seed_key.public_key().public_bytes(*RAW)
    assert parts[1] == str(time_ms) and nonce_read == nonce and sig_read == signature
    Ed25519PublicKey.from_public_bytes(key).verify(sig_read, signed)
    # The signature covers the body: one byte more and it fails.
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig_read, signed.replace(
            hashlib.sha256(hello).hexdigest().encode(), hashlib.sha256(hello + b"\x00").hexdigest().encode()))
        sys.exit("a request signature verified for another body")
    except Exception:
        pass
    print("relay request: signed text, signature and authorization header (16-byte nonce) check")


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    hello = check_messages(text, check_digest(text))
    check_authorization(text, hello)
    check_frames(text)
    check_bundle(text)
    check_sealed(text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""An independent check of the phone-to-phone frames, signed bundles and sealed bundles of
docs/sync-protocol.md, written from that document alone (not from the Rust code).

Usage: verify_sync_vectors.py    reads the test vectors out of docs/sync-protocol.md, checks
                                 the frames' signatures, the bundle's signature and opens the
                                 sealed bundle.
Needs the `cryptography` package. Exits non-zero on any mismatch.
"""

import hashlib
import pathlib
import re
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

DOC = pathlib.Path(__file__).resolve().parent.parent / "sync-protocol.md"
RFC8032_TEST1_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
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


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    check_frames(text)
    check_bundle(text)
    check_sealed(text)


if __name__ == "__main__":
    main()

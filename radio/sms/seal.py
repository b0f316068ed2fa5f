"""Sealed binary SMS between two paired nodes: authenticated and encrypted, 20 bytes a message.

Sans-IO: keys and counters in, bytes out; the link (link.py) keeps the counters on disk.

Why: a binary SMS carries the sender's number, which anyone can spoof, and its 140 bytes
travel in clear through the operator (docs/research/sms.md 4).  Before this, six spoofed
SMS from a peer node's number made a node queue 3,061 binary SMS, and the operator read
every alert address and name that went between two nodes (issue 13).

Construction (libsodium through PyNaCl, nothing of our own):

1. Each node already has an Ed25519 key (its identity, `fieldkit whoami`).  Pairing gives
   each node the other's public key.  Both keys are converted to X25519
   (``crypto_sign_ed25519_{pk,sk}_to_curve25519``, the birational map libsodium documents
   for exactly this).
2. ``crypto_kx`` (X25519 + BLAKE2b-512 over the shared point and both public keys) gives two
   session keys, one per direction; the node whose X25519 public key sorts lower plays the
   kx "client".  Each direction key is then bound to this use with keyed BLAKE2b
   (personalisation ``fkSMSv1``), so the same identity keys used elsewhere never yield
   the same key.  No key is ever sent; both nodes derive the same two keys alone.
3. Each SMS is ``counter (4 B, big-endian) || ChaCha20-Poly1305-IETF(frame)`` with the
   12-byte nonce = the counter zero-padded and the counter also as associated data.
   Direction keys differ, so the counter only has to be unique per direction: the link
   reserves counters on disk before using them, so a restart never reuses a nonce.

Cost: 4 B counter + 16 B Poly1305 tag = **20 bytes per SMS**, leaving 120 bytes of frame
in one 140-byte binary SMS (a signed vote, ≤ 96 B on the air, still fits one SMS).
Receivers accept each counter once (a window of the last 64 below the highest seen), so
a recorded SMS replayed later changes nothing.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import nacl.bindings as sodium
from nacl.exceptions import CryptoError

from codec import FieldkitError, KeyPair
from codec.frames import SMS_MTU

COUNTER = struct.Struct(">I")
TAG_SIZE = sodium.crypto_aead_chacha20poly1305_ietf_ABYTES  # 16
OVERHEAD = COUNTER.size + TAG_SIZE  # 20 bytes per SMS
INNER_MTU = SMS_MTU - OVERHEAD  # 120 bytes of frame per SMS
REPLAY_WINDOW = 64  # counters below the highest seen that may still arrive late (SMS reorder)
_PERSON = b"fkSMSv1"


class SealError(FieldkitError):
    """A binary SMS that does not open under the pair's key (spoofed, damaged or replayed)."""


@dataclass(frozen=True)
class PairKeys:
    tx: bytes  # 32-byte key for what we send
    rx: bytes  # 32-byte key for what the peer sends


def pair_keys(own: KeyPair, peer_public: bytes) -> PairKeys:
    """The two direction keys this node shares with the node whose Ed25519 key is ``peer_public``."""
    if len(peer_public) != 32:
        raise SealError(f"a peer's public key is 32 bytes, not {len(peer_public)}")
    if peer_public == own.public_key:
        raise SealError("a node cannot pair with itself")
    try:
        peer_x = sodium.crypto_sign_ed25519_pk_to_curve25519(peer_public)
    except (CryptoError, ValueError):
        raise SealError("the peer's public key is not a valid Ed25519 point") from None
    own_sk64 = own.seed + own.public_key  # libsodium's Ed25519 secret key layout
    own_x_sk = sodium.crypto_sign_ed25519_sk_to_curve25519(own_sk64)
    own_x = sodium.crypto_scalarmult_base(own_x_sk)
    if own_x < peer_x:
        rx, tx = sodium.crypto_kx_client_session_keys(own_x, own_x_sk, peer_x)
    else:
        rx, tx = sodium.crypto_kx_server_session_keys(own_x, own_x_sk, peer_x)
    return PairKeys(_bind(tx), _bind(rx))


def _bind(key: bytes) -> bytes:
    return hashlib.blake2b(b"sms link direction key", key=key, digest_size=32, person=_PERSON).digest()


def _nonce(counter: int) -> bytes:
    return bytes(8) + COUNTER.pack(counter)


def seal(key: bytes, counter: int, frame: bytes) -> bytes:
    if len(frame) > INNER_MTU:
        raise SealError(f"a frame of {len(frame)} bytes does not fit one sealed SMS ({INNER_MTU})")
    head = COUNTER.pack(counter)
    return head + sodium.crypto_aead_chacha20poly1305_ietf_encrypt(frame, head, _nonce(counter), key)


def open_sealed(key: bytes, sms: bytes) -> tuple[int, bytes]:
    """(counter, frame) of a sealed SMS; SealError if it was not sealed with ``key``."""
    if len(sms) < OVERHEAD:
        raise SealError(f"{len(sms)} bytes is too short for a sealed SMS")
    head = sms[: COUNTER.size]
    (counter,) = COUNTER.unpack(head)
    try:
        frame = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(sms[COUNTER.size:], head, _nonce(counter), key)
    except CryptoError:
        raise SealError("does not authenticate under the pair's key (spoofed or damaged)") from None
    return counter, frame


@dataclass
class ReplayWindow:
    """Which counters of a peer were accepted: the highest, and a bitmap of the 64 below it."""

    high: int = -1
    bits: int = 0  # bit i set: counter high - 1 - i was accepted

    def fresh(self, counter: int) -> bool:
        if counter > self.high:
            return True
        back = self.high - counter - 1
        return 0 <= back < REPLAY_WINDOW and not (self.bits >> back) & 1

    def accept(self, counter: int) -> None:
        if counter > self.high:
            shift = counter - self.high
            moved = self.bits << shift if shift < REPLAY_WINDOW else 0
            if self.high >= 0 and shift <= REPLAY_WINDOW:
                moved |= 1 << (shift - 1)  # the old highest is now below the new one
            self.bits = moved & ((1 << REPLAY_WINDOW) - 1)
            self.high = counter
        else:
            self.bits |= 1 << (self.high - counter - 1)

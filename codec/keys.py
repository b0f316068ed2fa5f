"""Keys: Ed25519 key pairs (PyNaCl) and the short ids derived from public keys.

A *key id* is the first 8 bytes of BLAKE2b-256 over the public key; it names members
in entry bodies (8 bytes: grinding a colliding key costs 2^64 work).  The *author
tag* on the wire is the first 4 bytes of it: it only selects candidate keys, the
signature decides (the full key is signed implicitly), so a collision there costs a
receiver one extra verification and nothing else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import nacl.exceptions
import nacl.signing

from .errors import DecodeError, VerifyError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 8
AUTHOR_TAG_SIZE = 4


class Signer(Protocol):
    """What signs an entry: a :class:`KeyPair`, or a signature made elsewhere (a phone's, over
    the id the web prepared for it)."""

    @property
    def public_key(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


def key_id(public_key: bytes) -> bytes:
    """The 8-byte key id of a 32-byte Ed25519 public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise DecodeError(f"a public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    return hashlib.blake2b(public_key, digest_size=32, person=b"fieldkit-key").digest()[:KEY_ID_SIZE]


def author_tag(public_key: bytes) -> bytes:
    """The 4-byte author tag sent on the wire instead of the full key."""
    return key_id(public_key)[:AUTHOR_TAG_SIZE]


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise VerifyError unless ``signature`` is a valid Ed25519 signature by ``public_key``."""
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        raise VerifyError("signature does not verify for this author's key") from None


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 signing key with its public half."""

    seed: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def _signing_key(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.seed)

    @property
    def public_key(self) -> bytes:
        return bytes(self._signing_key.verify_key)

    @property
    def key_id(self) -> bytes:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._signing_key.sign(message).signature

    def __repr__(self) -> str:  # never print the seed
        return f"KeyPair(key_id={self.key_id.hex()})"

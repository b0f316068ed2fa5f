"""Sealing at rest: authenticated encryption of records, rows and files under one data key.

Sans-IO: a :class:`Sealer` takes bytes and returns bytes; it never opens a file.  It lives
in ``codec/`` because every layer that writes to disk needs it — the log and the views
(``sync/``), the radio outbox and the SMS inbox and queue (``radio/``), the subscriber table
(``fieldkit/``) — and ``codec/`` is the one package all of them may import.

The primitive is libsodium's ``crypto_secretbox`` (XSalsa20-Poly1305) through PyNaCl: a
24-byte nonce per message, a 16-byte Poly1305 tag, 40 bytes of overhead in all.  A nonce
must never be used twice under one key for different plaintexts (XSalsa20's keystream
would repeat).  Each :class:`Sealer` object draws a random 16-byte nonce prefix when it
is made (and again in a forked child, which would otherwise continue its parent's
counter) and counts the last 8 bytes up from 0, so a nonce never repeats within one
sealer, and two sealers of the same key (other processes, other runs, a record
rewritten at the same place after a torn write) share a prefix with probability about
s²/2^129 for s sealers ever made — never, in practice: the same bound as fully random
192-bit nonces at 2^64 messages per sealer.  It costs one ``os.urandom`` per sealer
instead of one per message (1.5 µs of a 4 µs seal of a log record).  Why not ``secretstream``: the store reads
records at arbitrary offsets (``Log.read_at``) and several processes append to one log, so
each record must open on its own; a stream would have to be decrypted from its start.

Each use gets a subkey of its own (keyed BLAKE2b over the purpose, libsodium's
``crypto_kdf`` construction), so a ciphertext from one file or column never opens as
another's, and a keyed hash for log lines (:meth:`Sealer.pseudonym`) never equals a
lookup hash in a table.  Destroying the data key (``fieldkit panic``) makes every one of
them unreadable at once: that is why everything hangs off one key.
"""

from __future__ import annotations

import hashlib
import itertools
import os

import nacl.bindings
import nacl.exceptions
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib

from .errors import FieldkitError

KEY_SIZE = 32
NONCE_SIZE = 24
MAC_SIZE = 16
OVERHEAD = NONCE_SIZE + MAC_SIZE
FILE_MAGIC = b"FKSEAL\x01\n"  # sealed files start with this: anything else is refused, not parsed


class SealError(FieldkitError):
    """A sealed value does not open with this key: a wrong key, another home's file, or damage."""


_FORKS = [0]  # bumped in a forked child: every sealer draws a fresh nonce prefix there
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _FORKS.__setitem__(0, _FORKS[0] + 1))
_COUNTER_MAX = 1 << 64


class Sealer:
    """One key, one purpose.  ``derive`` makes the subkey of a named purpose."""

    __slots__ = ("_count", "_fork", "_key", "_key_c", "_out", "_prefix", "purpose")

    def __init__(self, key: bytes, purpose: str = "data") -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"a sealing key is {KEY_SIZE} bytes, got {len(key)}")
        self._key = bytes(key)
        self._key_c = _ffi.from_buffer("unsigned char[]", self._key)
        self._out = _ffi.new("unsigned char[]", 4096)  # reused output buffer of try_open (not thread-safe: see Log)
        self.purpose = purpose
        self._fresh_prefix()

    def _fresh_prefix(self) -> None:
        self._prefix = os.urandom(NONCE_SIZE - 8)
        self._count = itertools.count()  # next() is atomic under the GIL: threads never share a nonce
        self._fork = _FORKS[0]

    def _nonce(self) -> bytes:
        if self._fork != _FORKS[0]:
            self._fresh_prefix()
        n = next(self._count)
        if n >= _COUNTER_MAX:  # 2^64 messages: never, but a repeat would be fatal
            self._fresh_prefix()
            n = next(self._count)
        return self._prefix + n.to_bytes(8, "little")

    def derive(self, purpose: str) -> Sealer:
        """The sealer of one purpose (``"log"``, ``"views"``, ``"sms-inbox"`` …)."""
        sub = hashlib.blake2b(purpose.encode(), key=self._key, digest_size=KEY_SIZE, person=b"fieldkit-sealkdf")
        return Sealer(sub.digest(), f"{self.purpose}/{purpose}")

    def seal(self, data: bytes | memoryview) -> bytes:
        """nonce | MAC | ciphertext: libsodium's ``crypto_secretbox_easy`` through PyNaCl's cffi
        handle (``nacl.bindings`` pads and copies the message twice, as for :meth:`try_open`)."""
        size = len(data)
        out = _ffi.new("unsigned char[]", OVERHEAD + size)
        _ffi.memmove(out, self._nonce(), NONCE_SIZE)
        _lib.crypto_secretbox_easy(out + NONCE_SIZE, _ffi.from_buffer(data), size, out, self._key_c)
        return _ffi.buffer(out)[:]

    def open(self, blob: bytes, where: str = "a sealed value") -> bytes:
        """The plaintext, or SealError when the blob was not sealed by this key (or was damaged)."""
        if len(blob) < OVERHEAD:
            raise SealError(f"{where} is too short to be sealed")
        try:
            return nacl.bindings.crypto_secretbox_open(bytes(blob[NONCE_SIZE:]), bytes(blob[:NONCE_SIZE]), self._key)
        except nacl.exceptions.CryptoError:
            raise SealError(f"{where} does not open with this node's key (another home's, or damaged)") from None

    def try_open(self, blob: bytes | memoryview) -> bytes | None:
        """Like :meth:`open`, None instead of an error (the log's scan: a bad record is damage).

        The hot path of opening a sealed log (one call per record): libsodium's
        ``crypto_secretbox_open_easy`` straight through PyNaCl's cffi handle, reading the
        caller's buffer in place — ``nacl.bindings`` pads and copies each message twice, which
        cost more than the decryption itself.  Same construction and bytes as :meth:`seal`.
        """
        size = len(blob) - OVERHEAD
        if size < 0:
            return None
        if size > len(self._out):
            self._out = _ffi.new("unsigned char[]", size)
        whole = _ffi.from_buffer("unsigned char[]", blob)
        rc = _lib.crypto_secretbox_open_easy(self._out, whole + NONCE_SIZE, size + MAC_SIZE, whole, self._key_c)
        if rc != 0:
            return None
        return _ffi.buffer(self._out, size)[:]

    def seal_file(self, data: bytes) -> bytes:
        """A whole file's bytes: magic, then the sealed contents."""
        return FILE_MAGIC + self.seal(data)

    def open_file(self, blob: bytes, where: str) -> bytes:
        if not blob.startswith(FILE_MAGIC):
            raise SealError(f"{where} is not a sealed fieldkit file")
        return self.open(blob[len(FILE_MAGIC) :], where)

    def mac(self, data: bytes, size: int = 16) -> bytes:
        """A keyed hash: equal inputs give equal outputs, which only the key holder can compute.

        Used as a lookup key in sealed tables (a phone number's row) and for deduplication,
        where a plain hash of a 10-digit number would fall to a search of every number.
        """
        return hashlib.blake2b(bytes(data), key=self._key, digest_size=size, person=b"fieldkit-mac").digest()

    def pseudonym(self, text: str) -> str:
        """A short keyed-hash name for a log line (6 hex bytes): tells senders apart, names nobody."""
        return "#" + self.mac(text.encode(), 6).hex()

    def __repr__(self) -> str:  # never print the key
        return f"Sealer({self.purpose})"


def new_data_key() -> bytes:
    return os.urandom(KEY_SIZE)


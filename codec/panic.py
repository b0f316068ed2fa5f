"""The signed panic frame: "node X, shred yourself now", from a key that node's operator named.

Layout (77 bytes, one LoRa frame, one binary SMS)::

    u8 0xDE (the frame type: no entry version or other frame type starts so, codec/frames.py),
    8-byte key id of the target node, u32 unix time (s), 64-byte Ed25519 signature by the sender
    over b"fieldkit-panic" + the 13 bytes before it

It is not an entry: it is never stored, relayed or synced (a panic order kept in every log
would tell a raid which nodes had one).  A node acts on it only when the signature is by
one of the keys its operator named (``panic_keys`` in node.toml), it names this node, and
its time is within :data:`WINDOW_S` of the node's clock (a recorded frame replayed later
does nothing).  Sans-IO: the caller passes the clock.
"""

from __future__ import annotations

import struct

from .errors import DecodeError, VerifyError
from .keys import KEY_ID_SIZE, KeyPair, key_id, verify_signature

PANIC_TYPE = 0xDE
HEAD = struct.Struct("<B8sI")
SIZE = HEAD.size + 64
CONTEXT = b"fieldkit-panic"
WINDOW_S = 600  # clocks of field nodes drift by minutes without NTP; a replay after 10 min is refused


def is_panic_frame(frame: bytes) -> bool:
    return len(frame) == SIZE and frame[0] == PANIC_TYPE


def encode_panic(sender: KeyPair, target_key_id: bytes, now: int) -> bytes:
    if len(target_key_id) != KEY_ID_SIZE:
        raise DecodeError(f"a node's key id is {KEY_ID_SIZE} bytes")
    head = HEAD.pack(PANIC_TYPE, target_key_id, now)
    return head + sender.sign(CONTEXT + head)


def verify_panic(frame: bytes, allowed: list[bytes], own_public_key: bytes, now: int) -> bytes:
    """The public key that ordered the panic; DecodeError/VerifyError (with a reason) otherwise."""
    if not is_panic_frame(frame):
        raise DecodeError("not a panic frame")
    _t, target, when = HEAD.unpack_from(frame)
    if target != key_id(own_public_key):
        raise VerifyError("a panic frame for another node")
    if abs(now - when) > WINDOW_S:
        raise VerifyError(f"a panic frame {abs(now - when)} s away from this node's clock (replay?)")
    head, signature = frame[: HEAD.size], frame[HEAD.size :]
    for key in allowed:
        try:
            verify_signature(key, CONTEXT + head, signature)
        except VerifyError:
            continue
        return key
    raise VerifyError("a panic frame not signed by a key this node's operator named")

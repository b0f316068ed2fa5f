"""Entries on the store's hot path: ids from wire bytes, bare signature checks, log reads."""

from __future__ import annotations

import hashlib

from codec import Entry, decode_entry
from codec.entry import FLAG_FULL_KEY
from codec.entry import entry_id as hash_canonical
from codec.keys import AUTHOR_TAG_SIZE, SIGNATURE_SIZE
from sync.checks import signature_ok

__all__ = ["entry_from_log", "id_from_raw", "receipt_of", "signature_ok"]


def receipt_of(raw: bytes) -> bytes:
    """Names a kept-aside copy before its id is known (the id needs the author's full key)."""
    return hashlib.blake2b(raw, digest_size=32, person=b"fieldkit-receipt").digest()


def id_from_raw(raw: bytes, key: bytes) -> bytes:
    """The entry id straight from well-formed wire bytes, without re-encoding the body.

    The id is BLAKE2b over the canonical unsigned form: the wire bytes with the full
    key and flag 1, minus the signature (codec/entry.py).  The strict decoder already
    proved ``raw`` canonical, so splicing the key in gives exactly those bytes: the
    same value as ``Entry.id``, at a fraction of the cost (tests check they agree).
    """
    if raw[0] & FLAG_FULL_KEY:
        return hash_canonical(raw[:-SIGNATURE_SIZE])
    return hash_canonical(bytes((raw[0] | FLAG_FULL_KEY, raw[1])) + key + raw[2 + AUTHOR_TAG_SIZE : -SIGNATURE_SIZE])


def entry_from_log(author: bytes, raw: bytes, entry_id: bytes | None = None, signature: bool = True) -> Entry:
    """An entry read back from the local log: checksummed and verified when appended, not re-verified.

    ``signature=False``: with an empty signature, for a view's fold only (Store._rebuild_views).
    """
    u = decode_entry(raw)
    entry = Entry(author, u.seq, u.prev, u.time, u.body, u.signature if signature else b"", u.origin)
    # Set as an attribute, not through ``entry.__dict__``: asking for the dict makes CPython
    # build one per entry (~300 bytes instead of the shared-key values; a rebuild holds 100,000).
    object.__setattr__(entry, "id", entry_id if entry_id is not None else id_from_raw(raw, author))
    return entry

"""Which public keys this store knows, looked up by the 4-byte author tag the wire carries.

A key becomes known from any verified entry that carries it in full (the full-key
flag) and from every body field typed ``codec.schema.PUBKEY`` (``Vouch.newcomer``,
``KeyRevoke.successor``, and whatever kinds add later): found generically from the
schema, so a new kind with a key field needs no change here.  Knowing a key is not
trusting it: the tag only picks candidate keys, the signature decides.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from typing import Any

from codec import author_tag
from codec.schema import PUBKEY, FieldType, ListOf, Optional, fields_of
from sync.index import SCHEMA, Blind


def _holds_pubkeys(ftype: FieldType) -> bool:
    if ftype == PUBKEY:
        return True
    if isinstance(ftype, Optional | ListOf):
        return _holds_pubkeys(ftype.item)
    return False


@functools.cache
def _pubkey_fields(body_type: type) -> tuple[tuple[str, FieldType], ...]:
    return tuple((name, ftype) for name, ftype in fields_of(body_type) if _holds_pubkeys(ftype))


def names_keys(body_type: type) -> bool:
    """Can a body of this type name public keys at all?"""
    return bool(_pubkey_fields(body_type))


def _values(ftype: FieldType, value: Any) -> Iterator[bytes]:
    if value is None:
        return
    if ftype == PUBKEY:
        yield value
    elif isinstance(ftype, Optional):
        yield from _values(ftype.item, value)
    elif isinstance(ftype, ListOf):
        for item in value:
            yield from _values(ftype.item, item)


def pubkeys_in(body: Any) -> list[bytes]:
    """Every full public key a body names, in field order."""
    found: list[bytes] = []
    for name, ftype in _pubkey_fields(type(body)):
        found.extend(_values(ftype, getattr(body, name)))
    return found


class KeysDirectory:
    """Known keys by author tag (several keys may share a 4-byte tag), in the index database."""

    def __init__(self, db: sqlite3.Connection, blind: Blind | None = None) -> None:
        self._db = db
        self._blind = blind or Blind(None)
        db.executescript(SCHEMA)  # the keys table is part of the index schema
        self._known: set[bytes] = set()  # keys seen lately; dropped with a rolled-back batch (reset)
        self._by_tag: dict[bytes, list[bytes]] = {}  # tag -> its known keys, for tags asked lately

    def reset(self) -> None:
        self._known.clear()
        self._by_tag.clear()

    def add(self, key: bytes) -> bool:
        """Remember ``key``; True if it was new."""
        if key in self._known:
            return False
        b = self._blind
        tag = author_tag(key)
        cur = self._db.execute("INSERT OR IGNORE INTO keys VALUES (?, ?, ?)",
                               (b.name(key), b.name(tag), b.seal_key(key)))
        self._remember(key)
        self._by_tag.pop(tag, None)
        return cur.rowcount > 0

    def _remember(self, key: bytes) -> None:
        if len(self._known) >= 100_000:
            self._known.clear()
        self._known.add(key)

    def for_tag(self, tag: bytes) -> list[bytes]:
        found = self._by_tag.get(tag)
        if found is None:
            found = sorted(self._blind.open(r[0]) for r in self._db.execute("SELECT who FROM keys WHERE tag = ?",
                                                                             (self._blind.name(tag),)))
            if len(self._by_tag) >= 100_000:
                self._by_tag.clear()
            self._by_tag[tag] = found
        return list(found)

    def __contains__(self, key: bytes) -> bool:
        if key in self._known:
            return True
        found = self._db.execute("SELECT 1 FROM keys WHERE key = ?", (self._blind.name(key),)).fetchone() is not None
        if found:
            self._remember(key)
        return found

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM keys").fetchone()[0]

"""Bundles: a file of signed entries for sneakernet (a USB stick, a carried node).

Layout (integers big-endian)::

    magic      8 bytes  b"\\x89FKBNDL\\n"
    version    1 byte   = 1
    created    8 bytes  unix seconds
    since      8 bytes  unix seconds (0 = everything)
    records    length (4) | CRC-32 of the entry (4) | entry, always with the full key
    trailer    length 0 (4) | record count (4)

Every entry carries its author's full key, so a bundle verifies on a node that never
heard of its authors.  Import trusts nothing: each record is checked (checksum, then
the store's decode + verify), what verifies is merged, and every refused record is
reported with its reason.  Importing twice changes nothing (every entry is then a
duplicate).  Pure over bytes and the store: the CLI does the file I/O.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from codec import LINK_SIZE, MAX_ENTRY_SIZE, DecodeError, Entry, FieldkitError
from codec.entry import FLAG_FULL_KEY
from codec.keys import AUTHOR_TAG_SIZE, PUBLIC_KEY_SIZE
from codec.wire import Reader
from sync.api import EntryStore, Outcome
from sync.plan import kept_aside

MAGIC = b"\x89FKBNDL\n"
VERSION = 1
HEADER = struct.Struct(">8sBQQ")
RECORD = struct.Struct(">II")
MAX_RECORD = MAX_ENTRY_SIZE + 32  # an entry with its full key instead of the 4-byte tag
# Entries per batch: one transaction and one fsync each, rows touched once.  Each commit
# writes every index page its batch dirtied, and ids insert at random places, so fewer,
# larger batches write less: importing 100,000 entries (`bench store`), the commit cost
# 11 us an entry in batches of 4,096 and 9 in batches of 16,384; in bundles of 5,000,
# 18 us split into batches of 512 to 4,096, 7.7 as one batch.  The next batch's
# signatures are checked while one is folded, so two are in memory (~16 MB).
BATCH = 8192
Buffer = bytes | bytearray | memoryview | mmap.mmap


class BundleError(FieldkitError):
    """A file that is not a bundle at all (wrong magic, unknown version, no header)."""


@dataclass
class Refusal:
    index: int  # record number in the bundle, from 0
    reason: str


@dataclass
class ImportReport:
    added: int = 0  # joined the log (or kept aside, waiting for a predecessor)
    pending: int = 0  # of those, kept aside
    duplicates: int = 0
    refused: list[Refusal] = field(default_factory=list)
    records: int = 0

    def as_json(self) -> dict:
        return {
            "added": self.added,
            "pending": self.pending,
            "duplicates": self.duplicates,
            "refused": [{"index": r.index, "reason": r.reason} for r in self.refused],
            "records": self.records,
        }


def export_entries(store: EntryStore, since: int | None = None) -> list[Entry]:
    """Held and kept-aside entries, author by author in seq order (claimed time >= since)."""
    aside = kept_aside(store)
    authors = sorted(set(store.heads()) | set(aside))
    out: list[Entry] = []
    for author in authors:
        entries = [*store.entries_of(author), *sorted(aside.get(author, ()), key=lambda e: e.seq)]
        out.extend(e for e in entries if since is None or e.time >= since)
    return out


def export_bundle(store: EntryStore, now: int, since: int | None = None) -> bytes:
    parts = [HEADER.pack(MAGIC, VERSION, max(now, 0), max(since or 0, 0))]
    count = 0
    for entry in export_entries(store, since):
        raw = entry.encode(with_key=True)
        parts.append(RECORD.pack(len(raw), zlib.crc32(raw)) + raw)
        count += 1
    parts.append(RECORD.pack(0, count))
    return b"".join(parts)


@dataclass(frozen=True)
class BundleHeader:
    version: int
    created: int
    since: int


def read_header(data: Buffer) -> BundleHeader:
    if len(data) < HEADER.size:
        raise BundleError(f"not a fieldkit bundle: {len(data)} bytes is shorter than the header")
    magic, version, created, since = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise BundleError("not a fieldkit bundle (wrong magic bytes)")
    if version != VERSION:
        raise BundleError(f"bundle format version {version}; this node reads version {VERSION}")
    return BundleHeader(version, created, since)


def count_records(data: Buffer) -> int:
    """How many records the bundle's lengths walk through (for a progress bar)."""
    pos, count = HEADER.size, 0
    while pos + RECORD.size <= len(data):
        length = RECORD.unpack_from(data, pos)[0]
        if length == 0 or length > MAX_RECORD:
            break
        pos += RECORD.size + length
        count += 1
    return count


def scan_records(data: Buffer, report: ImportReport) -> list[tuple[int, bytes]]:
    """(index, raw) of each record whose checksum holds; refusals go into ``report``."""
    return [(index, bytes(data[at : at + size])) for index, at, size in _walk(data, report)]


def _walk(data: Buffer, report: ImportReport) -> Iterator[tuple[int, int, int]]:
    """(index, offset, length) of each record whose checksum holds; refusals go into ``report``."""
    read_header(data)
    pos = HEADER.size
    index = 0
    while True:
        if pos + RECORD.size > len(data):
            report.refused.append(Refusal(index, f"bundle truncated at byte {pos}: the rest is missing"))
            break
        length, crc = RECORD.unpack_from(data, pos)
        pos += RECORD.size
        if length == 0:
            if crc != index:
                report.refused.append(Refusal(index, f"trailer counts {crc} records, the bundle holds {index}"))
            if pos != len(data):
                report.refused.append(Refusal(index, f"{len(data) - pos} bytes after the trailer ignored"))
            break
        if length > MAX_RECORD:
            report.refused.append(Refusal(index, f"record length {length} is impossible: the rest is unreadable"))
            break
        if pos + length > len(data):
            report.refused.append(Refusal(index, f"record {index} truncated: the bundle ends inside it"))
            break
        if zlib.crc32(data[pos : pos + length]) != crc:
            report.refused.append(Refusal(index, "checksum mismatch: the record was damaged"))
        else:
            yield index, pos, length
        pos += length
        index += 1
    report.records = index


def claimed_time(raw: bytes | memoryview) -> int:
    """The time an entry claims, read from its header without decoding it (0 if unreadable)."""
    try:
        r = Reader(raw)
        flags = r.u8("version") & 0x0F
        r.take(1 + (PUBLIC_KEY_SIZE if flags & FLAG_FULL_KEY else AUTHOR_TAG_SIZE), "kind and author")
        if r.varint("seq"):
            r.take(LINK_SIZE, "link")
        return r.varint("time")
    except DecodeError:
        return 0


def import_bundle(
    store: EntryStore, data: Buffer, now: int, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Verify every record and merge what verifies; raises BundleError only for a non-bundle.

    ``data``: the bundle's bytes, or an ``mmap`` of its file.  Memory stays bounded
    whatever the bundle's size: the walk keeps 16 bytes per record (claimed time, index,
    place; ``array``s, not objects), and only one batch of entries is ever copied out.
    Each batch is one ``store.add_many``: one transaction and one fsync, acknowledged
    (durable) when it returns; a crash loses at most the batch being written, whole.
    """
    report = ImportReport()
    # In claimed-time order, as the domain folds (an export runs author by author): the views
    # continue their fold instead of undoing it for every author; a chain whose later entry
    # comes first waits aside for a moment (store.py), nothing is lost.
    indexes, places = array("q"), array("q")
    order = []  # claimed time, then place in the bundle, as one int each
    for index, at, size in _walk(data, report):
        order.append(claimed_time(data[at : at + size]) << 32 | len(indexes))
        indexes.append(index)
        places.append(at << 16 | size)  # MAX_RECORD < 2^16
    order.sort()
    order = [key & 0xFFFFFFFF for key in order]
    spans = [(start, min(start + BATCH, len(order))) for start in range(0, len(order), BATCH)]
    batches = ([bytes(data[(p := places[i]) >> 16 : (p >> 16) + (p & 0xFFFF)]) for i in order[start:end]]
               for start, end in spans)
    for (start, end), results in zip(spans, store.add_batches(batches, now), strict=True):
        chunk = order[start:end]
        for i, result in zip(chunk, results, strict=True):
            if result.outcome is Outcome.REFUSED:
                report.refused.append(Refusal(indexes[i], result.reason or "refused by the store"))
            elif result.outcome is Outcome.DUPLICATE:
                report.duplicates += 1
            else:
                report.added += 1
                report.pending += result.outcome is Outcome.PENDING
        if progress is not None:
            progress(len(chunk))
    report.refused.sort(key=lambda r: r.index)
    return report

"""The log file: the store's truth, append-only, length-prefixed and checksummed.

Layout::

    header  32 bytes: magic b"FKLOG\\x00\\r\\n", u16 format, u16 flags,
            16-byte random store id, u32 check of the 28 bytes before it
    record  u32 length of the content, u32 CRC-32 of the content, content:
            u8 type, u64 local receive time (unix s), 32-byte id, 32-byte author,
            u32 seq, then the data (the exact signed bytes, or a reason)

A *sealed* log (flag bit 0, every log of a home: issue 17) stores each record's content
sealed under the log's key (:class:`codec.sealing.Sealer`, secretbox with a random
nonce: 40 bytes more per record), and its header check is a keyed hash instead of a
CRC-32, so a wrong key is told at once — never mistaken for a torn tail to cut off.
The CRC-32 covers the sealed bytes: torn writes are still found without the key.
Records seal one by one, not as a stream, because the store reads them at offsets.
Nothing of a sealed record is readable without the key: not its type, time, id,
author or seq; only its length shows.

All integers little-endian.  CRC-32 (zlib) is enough here: it guards against torn
writes and bit rot, not against an attacker (the entries inside are signed, and the
log is a local file).  The magic's CR LF catches a file mangled by a text-mode copy
(the PNG trick).

A crash can leave a torn tail: the last write cut short.  A record that fails its
checksum and is followed by no valid record at all is such a tail and is cut off at
open (under the append lock, so never a record another process is still writing).  A
bad record followed by valid ones is damage in the middle: opening refuses, and
:func:`salvage` finds every intact record for ``fieldkit store check``/``repair``.
"""

from __future__ import annotations

import enum
import os
import secrets
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codec import FieldkitError
from codec.sealing import OVERHEAD, Sealer

MAGIC = b"FKLOG\x00\r\n"
LOG_FORMAT = 1
HEADER = struct.Struct("<8sHH16s")
HEADER_SIZE = HEADER.size + 4
PREFIX = struct.Struct("<II")  # content length, CRC-32 of the content
FIELDS = struct.Struct("<BQ32s32sI")  # type, receive time, id, author, seq
MAX_DATA = 4096  # an entry is at most 2048 bytes (codec.MAX_ENTRY_SIZE); reasons are short
MAX_CONTENT = FIELDS.size + MAX_DATA
NO_KEY = bytes(32)
FLAG_SEALED = 1


class RecordType(enum.IntEnum):
    ENTRY = 1  # an accepted entry: verified, chained to a held predecessor
    PENDING = 2  # kept aside: predecessor missing or author key unknown (id = receipt hash)
    SETTLED = 3  # a kept-aside entry left the pending set (id = its receipt hash, data = why)
    KEY = 4  # a public key learned from an entry body (author = the key)
    EVIDENCE = 5  # an accepted entry at an (author, seq) another held entry already has


class StoreError(FieldkitError):
    """The store cannot be opened or written; the reason says why and what to do."""


class LogDamaged(StoreError):
    """The log has damage before its end: opening refuses rather than drop entries."""


class StoreFormatError(StoreError):
    """Not a fieldkit log, or a newer format than this fieldkit reads."""


class StoreLocked(StoreError):
    """A sealed log opened without its key, or with another key."""


@dataclass(frozen=True, slots=True)
class Record:
    type: RecordType
    time: int
    id: bytes
    author: bytes
    seq: int
    data: bytes

    def encode(self, sealer: Sealer | None = None) -> bytes:
        content = FIELDS.pack(self.type, self.time, self.id, self.author, self.seq) + self.data
        if sealer is not None:
            content = sealer.seal(content)
        return PREFIX.pack(len(content), zlib.crc32(content)) + content


def _header_check(head: bytes, sealer: Sealer | None) -> int:
    if sealer is None:
        return zlib.crc32(head)
    return int.from_bytes(sealer.mac(head, 4), "little")


def encode_header(store_id: bytes, sealer: Sealer | None = None) -> bytes:
    head = HEADER.pack(MAGIC, LOG_FORMAT, FLAG_SEALED if sealer is not None else 0, store_id)
    return head + struct.pack("<I", _header_check(head, sealer))


def header_sealed(data: bytes) -> bool:
    """Does this header say the records are sealed (whether or not the key is at hand)?"""
    return len(data) >= HEADER.size and data.startswith(MAGIC[:5]) and bool(HEADER.unpack_from(data)[2] & FLAG_SEALED)


def decode_header(data: bytes, where: str, sealer: Sealer | None = None) -> bytes:
    """The store id; raises StoreFormatError for anything that is not our header, StoreLocked for a key problem."""
    if len(data) < HEADER_SIZE or not data.startswith(MAGIC[:5]):
        raise StoreFormatError(f"{where} is not a fieldkit log (no header)")
    magic, fmt, flags, store_id = HEADER.unpack_from(data)
    (check,) = struct.unpack_from("<I", data, HEADER.size)
    sealed = bool(flags & FLAG_SEALED)
    if magic != MAGIC:
        raise StoreFormatError(f"{where} has a damaged header: run `fieldkit store check`")
    if fmt > LOG_FORMAT:
        raise StoreFormatError(f"{where} is log format {fmt}, newer than this fieldkit reads ({LOG_FORMAT}); upgrade")
    if sealed and sealer is None:
        raise StoreLocked(f"{where} is encrypted: unlock the home first (passphrase, key file or `fieldkit unlock`)")
    if not sealed and sealer is not None:
        raise StoreLocked(f"{where} is not encrypted, but this home expects it to be: refusing to write plain records")
    if check != _header_check(data[: HEADER.size], sealer if sealed else None):
        if sealed:
            raise StoreLocked(f"{where} does not open with this home's key (another home's log, or a damaged header)")
        raise StoreFormatError(f"{where} has a damaged header: run `fieldkit store check`")
    return store_id


def parse_record(buf: bytes | memoryview, pos: int, sealer: Sealer | None = None) -> tuple[Record, int] | None:
    """The record at ``pos`` and the offset after it, or None if incomplete or damaged."""
    if pos + PREFIX.size > len(buf):
        return None
    length, crc = PREFIX.unpack_from(buf, pos)
    end = pos + PREFIX.size + length
    extra = 0 if sealer is None else OVERHEAD
    if length < FIELDS.size + extra or length > MAX_CONTENT + extra or end > len(buf):
        return None
    content = buf[pos + PREFIX.size : end]
    if sealer is not None:
        # With the key, the MAC decides (it catches everything the CRC would, and forgeries);
        # the CRC over the sealed bytes is for finding torn writes without the key.
        opened = sealer.try_open(content)
        if opened is None:
            return None
        content = opened
    elif zlib.crc32(content) != crc:
        return None
    rtype, time, rid, author, seq = FIELDS.unpack_from(content)
    try:
        kind = RecordType(rtype)
    except ValueError:
        return None
    return Record(kind, time, bytes(rid), bytes(author), seq, bytes(content[FIELDS.size :])), end


def next_valid(buf: bytes | memoryview, start: int, sealer: Sealer | None = None) -> int | None:
    """The first offset at or after ``start`` where a valid record begins (slow; damage only)."""
    for pos in range(start, len(buf) - PREFIX.size - FIELDS.size + 1):
        if parse_record(buf, pos, sealer) is not None:
            return pos
    return None


@dataclass(frozen=True)
class Damage:
    start: int
    end: int  # exclusive: where the next intact record begins, or the end of the file

    def describe(self) -> str:
        return f"bytes {self.start}..{self.end} ({self.end - self.start} bytes) are not intact records"


@dataclass
class Salvage:
    store_id: bytes | None
    records: list[tuple[int, Record]]
    damage: list[Damage]
    torn_tail: Damage | None  # damage at the very end: a write cut short by a crash


def salvage(data: bytes, sealer: Sealer | None = None) -> Salvage:
    """Every intact record of a whole log image, and every damaged stretch between them.

    A sealed log needs its key (StoreLocked without it): a record that does not open is damage.
    """
    if sealer is None and header_sealed(data):
        raise StoreLocked("the log is encrypted: unlock the home first")
    try:
        store_id = decode_header(data, "the log", sealer)
        pos = HEADER_SIZE
    except StoreLocked:
        if sealer is None:
            raise
        store_id, pos = None, 0  # a damaged sealed header: its records may still open
    except StoreFormatError:
        store_id, pos = None, 0
    records: list[tuple[int, Record]] = []
    damage: list[Damage] = []
    while pos < len(data):
        parsed = parse_record(data, pos, sealer)
        if parsed is not None:
            records.append((pos, parsed[0]))
            pos = parsed[1]
            continue
        resume = next_valid(data, pos + 1, sealer)
        damage.append(Damage(pos, len(data) if resume is None else resume))
        if resume is None:
            break
        pos = resume
    torn = damage.pop() if damage and damage[-1].end == len(data) else None
    return Salvage(store_id, records, damage, torn)


class Log:
    """What the store needs from a log backend: header, append, random and sequential reads."""

    store_id: bytes
    where: str
    sealer: Sealer | None = None  # set: records are sealed (a home's log)

    def encode(self, record: Record) -> bytes:
        return record.encode(self.sealer)

    def encoded_size(self, record: Record) -> int:
        """``len(self.encode(record))``, without sealing it."""
        return PREFIX.size + FIELDS.size + len(record.data) + (OVERHEAD if self.sealer is not None else 0)

    def parse(self, buf: bytes | memoryview, pos: int) -> tuple[Record, int] | None:
        return parse_record(buf, pos, self.sealer)

    def size(self) -> int:
        raise NotImplementedError

    def read(self, offset: int, size: int) -> bytes:
        raise NotImplementedError

    def append(self, blob: bytes) -> int:
        """Write ``blob`` at the end and make it durable; returns the offset it starts at."""
        raise NotImplementedError

    def truncate(self, size: int) -> None:
        raise NotImplementedError

    def lock(self) -> None:  # exclusive: appends, tail repair, views file writes
        pass

    def replaced(self) -> bool:
        """Has the file at our path been swapped for another (a repair) since we opened it?"""
        return False

    def unlock(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read_at(self, offset: int) -> Record:
        head = self.read(offset, PREFIX.size)
        length, _ = PREFIX.unpack(head)
        parsed = parse_record(self.read(offset, PREFIX.size + length), 0, self.sealer)
        if parsed is None:
            raise LogDamaged(f"{self.where}: the record at byte {offset} no longer checks; run `fieldkit store check`, "
                             "then `fieldkit store repair` to salvage every intact entry")
        return parsed[0]

    def scan_to(self, start: int, end: int) -> Iterator[tuple[int, Record, int]]:
        """Like :meth:`scan` up to ``end``, a position known to be a record boundary: a record
        that does not check before it is damage, and raises (never a silently shorter read)."""
        pos = start
        for _offset, record, after in self.scan(start):
            if after > end:
                break
            yield _offset, record, after
            pos = after
        if pos < end:
            raise LogDamaged(f"{self.where} is damaged at byte {pos}: run `fieldkit store check`, then "
                             "`fieldkit store repair` to salvage every intact entry")

    def scan(self, start: int, chunk: int = 1 << 20) -> Iterator[tuple[int, Record, int]]:
        """(offset, record, end) of each complete valid record from ``start``; stops at the first that is not."""
        end_of_file = self.size()
        pos = start
        while pos < end_of_file:
            buf = self.read(pos, min(chunk, end_of_file - pos))
            view = memoryview(buf)
            at = 0
            while True:
                parsed = parse_record(view, at, self.sealer)
                if parsed is None:
                    break
                record, nxt = parsed
                yield pos + at, record, pos + nxt
                at = nxt
            if at == 0:
                if len(buf) < end_of_file - pos:  # one record larger than the chunk: read more
                    chunk *= 2
                    continue
                return
            pos += at


class MemoryLog(Log):
    """A log in a bytearray: the same records, for simulations of many nodes in one process."""

    def __init__(self, sealer: Sealer | None = None) -> None:
        self.store_id = secrets.token_bytes(16)
        self.where = "memory log"
        self.sealer = sealer
        self._buf = bytearray(encode_header(self.store_id, sealer))

    def load(self, image: bytes) -> None:
        """Replace the contents with a whole log image (header included), e.g. a copy of another log."""
        self.store_id = decode_header(image, self.where, self.sealer)
        self._buf = bytearray(image)

    def size(self) -> int:
        return len(self._buf)

    def read(self, offset: int, size: int) -> bytes:
        return bytes(self._buf[offset : offset + size])

    def append(self, blob: bytes) -> int:
        offset = len(self._buf)
        self._buf += blob
        return offset

    def truncate(self, size: int) -> None:
        del self._buf[size:]


class FileLog(Log):
    """A log file; appends are fsync'd before ``append`` returns."""

    def __init__(self, path: Path, create: bool, sealer: Sealer | None = None) -> None:
        import fcntl  # POSIX only, like the Pi it runs on

        self._fcntl = fcntl
        self.path = Path(path)
        self.where = str(self.path)
        self.sealer = sealer
        if not self.path.exists():
            if not create:
                raise StoreError(f"no store at {self.path.parent}: run `fieldkit init` first")
            self._create()
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        except OSError as exc:
            raise StoreError(f"cannot open {self.path}: {exc.strerror}") from None
        try:
            self.store_id = decode_header(self.read(0, HEADER_SIZE), self.where, sealer)
        except StoreError:
            os.close(self._fd)
            raise
        self._locked = 0

    def _create(self) -> None:
        from sync.atomic import write_atomic

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A fresh log appears whole or not at all: two processes racing to create it
        # would each write a header with its own store id, so the rename must not clobber.
        tmp = self.path.with_name(f".{self.path.name}.new-{os.getpid()}")
        write_atomic(tmp, encode_header(secrets.token_bytes(16), self.sealer), mode=0o600)
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def read(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)

    def append(self, blob: bytes) -> int:
        offset = self.size()  # we hold the lock: nobody else appends meanwhile
        view = memoryview(blob)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)
        return offset

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        os.fsync(self._fd)

    def replaced(self) -> bool:
        try:
            return os.stat(self.path).st_ino != os.fstat(self._fd).st_ino
        except FileNotFoundError:
            return True

    def lock(self) -> None:
        if self._locked == 0:
            self._fcntl.flock(self._fd, self._fcntl.LOCK_EX)
        self._locked += 1

    def unlock(self) -> None:
        self._locked -= 1
        if self._locked == 0:
            self._fcntl.flock(self._fd, self._fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

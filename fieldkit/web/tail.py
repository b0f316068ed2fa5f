"""Alerts cannot wait for the fold: read what other processes append to the log, before the views catch up.

The store picks up other processes' appends in ``refresh``, which also folds them into
the domain view — at 100,000 entries that is a second or more (``bench web``).  Phones
must hear an alert at once (DESIGN.md: "the alert cannot wait"), so the web server reads
the log's new records itself first, with the log's own parser and the log's sealer (a
home's records are sealed under a subkey of its data key: sync/store.py ``log_sealer``),
and publishes the held entries among them; the refresh that follows brings the pages up
to date.  Only ENTRY and EVIDENCE records are read: what the appending process verified
and held (kept-aside entries are not shown until the store holds them).

A record that is whole on disk but will not open (the wrong key, damage) is not an append
in progress: the tail stops, says why in the server's log and in ``stopped``, and the
events come after the refresh, as before.  A log replaced under it (``store repair``) is
followed from its end.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from codec import Entry
from codec.sealing import OVERHEAD, Sealer
from sync.entries import entry_from_log
from sync.log import MAX_CONTENT, PREFIX, RecordType, parse_record

MAX_READ = 4 << 20  # bytes read per poll at most: a bundle import of thousands of entries is caught up over polls

log = logging.getLogger("fieldkit.web")


class LogTail:
    def __init__(self, path: Path, sealer: Sealer | None) -> None:
        """``sealer``: the one the store opened this log with (``Store.record_sealer``), None for a clear log."""
        self.path = path
        self.sealer = sealer
        st = path.stat()
        self.pos = st.st_size  # the store was just opened: its log ends on a record boundary
        self.inode = st.st_ino
        self.stopped: str | None = None  # why the tail gave up, if it did

    @property
    def working(self) -> bool:
        return self.stopped is None

    def read_new(self) -> list[Entry]:
        """Held entries appended since the last call (none once the tail has given up)."""
        if self.stopped is not None:
            return []
        try:
            st = os.stat(self.path)
            if st.st_ino != self.inode or st.st_size < self.pos:  # replaced (store repair): follow from its end
                self.inode, self.pos = st.st_ino, st.st_size
                return []
            if st.st_size == self.pos:
                return []
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read(min(st.st_size - self.pos, MAX_READ))
            out: list[Entry] = []
            offset = 0
            while (parsed := parse_record(data, offset, self.sealer)) is not None:
                record, offset = parsed
                if record.type in (RecordType.ENTRY, RecordType.EVIDENCE):
                    out.append(entry_from_log(record.author, record.data, record.id))
            if _whole_record_at(data, offset):
                raise ValueError(f"the record at offset {self.pos + offset} is whole but does not open "
                                 f"({'wrong key or damaged' if self.sealer is not None else 'damaged or sealed'})")
            self.pos += offset  # an incomplete last record (an append in progress) is read next time
            return out
        except Exception as e:  # any failure here must only cost the early alert, never the server
            self.stopped = f"{self.path}: {e}"
            log.warning("log tail stopped, alerts will reach phones after the fold instead: %s", self.stopped)
            return []


def _whole_record_at(data: bytes, pos: int) -> bool:
    """Whether ``data`` holds all of the record starting at ``pos`` as its length prefix says, or a prefix no
    record can have (so waiting for more would wait forever)."""
    if pos + PREFIX.size > len(data):
        return False
    length, _crc = PREFIX.unpack_from(data, pos)
    return length > MAX_CONTENT + OVERHEAD or pos + PREFIX.size + length <= len(data)

"""Alerts cannot wait for the fold: read what other processes append to the log, before the views catch up.

The store picks up other processes' appends in ``refresh``, which also folds them into
the domain view — at 100,000 entries that is a second or more (``bench web``).  Phones
must hear an alert at once (DESIGN.md: "the alert cannot wait"), so the web server reads
the log's new records itself first, with the log's own parser, and publishes the held
entries among them; the refresh that follows brings the pages up to date.  Only ENTRY
and EVIDENCE records are read: what the appending process verified and held (kept-aside
entries are not shown until the store holds them).  Should the log's format ever stop
parsing here, the tail stops and the events come after the refresh, as before.
"""

from __future__ import annotations

import os
from pathlib import Path

from codec import Entry
from sync.entries import entry_from_log
from sync.log import RecordType, parse_record

MAX_READ = 4 << 20  # bytes read per poll at most: a bundle import of thousands of entries is caught up over polls


class LogTail:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.pos = path.stat().st_size  # the store was just opened: its log ends on a record boundary
        self.working = True

    def read_new(self) -> list[Entry]:
        """Held entries appended since the last call (none once the tail has given up)."""
        if not self.working:
            return []
        try:
            size = os.path.getsize(self.path)
            if size < self.pos:  # the log was replaced (store repair): start from its end
                self.pos = size
                return []
            if size == self.pos:
                return []
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read(min(size - self.pos, MAX_READ))
            out: list[Entry] = []
            offset = 0
            while (parsed := parse_record(data, offset)) is not None:
                record, offset = parsed
                if record.type in (RecordType.ENTRY, RecordType.EVIDENCE):
                    out.append(entry_from_log(record.author, record.data, record.id))
            self.pos += offset  # an incomplete last record (an append in progress) is read next time
            return out
        except Exception:
            self.working = False
            return []

"""`fieldkit node run` that loses power right after an SMS command's entry reached the log.

Usage: python sms_crash_node.py <fieldkit arguments…>

The same process as `python -m fieldkit …`, except that the first entry the SMS service
appends for a member (an entry with an origin) is followed at once by SIGKILL: after the
log's fsync, before the inbox marks the message handled — the window a power cut hits.
tests/test_sms_exactly_once.py restarts a plain `node run` on the same home after it.
"""

from __future__ import annotations

import os
import signal

from sync.store import Store

_append_own = Store.append_own


def _append_then_lose_power(self, key, body, time, origin=None, **kwargs):  # type: ignore[no-untyped-def]
    entry = _append_own(self, key, body, time, origin, **kwargs)  # kwargs: check (fieldkit/nodestore.py act)
    if origin is not None:
        os.kill(os.getpid(), signal.SIGKILL)
    return entry


Store.append_own = _append_then_lose_power  # type: ignore[method-assign]

if __name__ == "__main__":
    from fieldkit.cli import main

    main()

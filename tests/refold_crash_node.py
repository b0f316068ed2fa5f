"""Folds a store's whole log again and again, in place (fieldkit/domain/log_refold.py),
printing ``refolded`` after each commit; tests/test_log_refold.py kills it with SIGKILL.

Usage: python refold_crash_node.py STORE_DIR

Every refold runs in place (threshold 0) with rows written out every 64 entries, so a
kill lands with rows of the unfinished refold already written in its transaction.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fieldkit.domain import log_refold
from fieldkit.domain.view import DomainView
from sync.store import Store


def main() -> None:
    log_refold.STREAM_ABOVE, log_refold.SPILL, log_refold.PAGE = 0, 64, 64
    with Store.open(Path(sys.argv[1]), views=[DomainView()]) as store:
        print("ready", flush=True)
        while True:
            store.rebuild_views()
            print("refolded", flush=True)


if __name__ == "__main__":
    main()

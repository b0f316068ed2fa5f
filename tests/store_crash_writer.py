"""Appends to a store forever, printing each acknowledgement; tests/test_store_crash.py kills it.

Usage: python store_crash_writer.py STORE_DIR SEED [DATA_KEY_HEX]

With a data key the store is sealed (an encrypted home's store, issue 17).

Each line ``ack <id hex> <outcome>`` is printed only after ``add_many`` (or
``append_own``) returned, i.e. after the batch was fsync'd.  The entries are
deterministic (fixed keys and times, Ed25519 signatures are deterministic), so a
restarted writer continues the same chains from whatever the store holds.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from codec import EPOCH, KeyPair, sign_entry
from codec.kinds import Ballot, Minutes
from codec.sealing import Sealer
from sync.store import Store

OWN = [KeyPair(bytes([0xA0 + i]) * 32) for i in range(2)]  # this node's keys: append_own
REMOTE = [KeyPair(bytes([0xB0 + i]) * 32) for i in range(3)]  # others: batches via add_many
T0 = EPOCH + 86400


def next_remote(store: Store, key: KeyPair, count: int) -> list[bytes]:
    """The next ``count`` entries of a remote author's chain after what the store holds."""
    chain = list(store.entries_of(key.public_key))
    prev = chain[-1].id if chain else None
    seq = len(chain)
    raws = []
    for _ in range(count):
        entry = sign_entry(key, seq, prev, T0 + seq, Ballot(bytes(6), seq % 4))
        raws.append(entry.encode(with_key=seq == 0))
        prev, seq = entry.id, seq + 1
    return raws


def main() -> None:
    store_dir, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    sealer = Sealer(bytes.fromhex(sys.argv[3])) if len(sys.argv) > 3 else None
    store = Store.open(store_dir, sealer=sealer)
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        if rng.random() < 0.3:
            key = rng.choice(OWN)
            entry = store.append_own(key, Minutes(bytes(6), f"minutes {n} of run {seed}"), T0 + n)
            print(f"ack {entry.id.hex()} added", flush=True)
            continue
        raws = next_remote(store, rng.choice(REMOTE), rng.randint(1, 6))
        if len(raws) > 1 and rng.random() < 0.3:
            raws.reverse()  # out of order: the later ones are kept aside until the first lands
        lines = [f"ack {(r.entry_id or b'').hex()} {r.outcome.value}" for r in store.add_many(raws, T0 + n)]
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()

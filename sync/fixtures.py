"""Deterministic signed logs for tests, the bench and the demo: authors and their chains."""

from __future__ import annotations

import hashlib
import random

from codec import EPOCH, Entry, KeyPair, sign_entry
from codec.kinds import AckStatus, AlertAck, AlertRaise, Ballot

BASE_TIME = EPOCH + 500 * 86400


def author_keys(count: int, seed: int = 0) -> list[KeyPair]:
    return [KeyPair(hashlib.blake2b(f"author {seed} {i}".encode(), digest_size=32).digest()) for i in range(count)]


def make_chains(keys: list[KeyPair], total: int, rng: random.Random) -> dict[bytes, list[Entry]]:
    """``total`` entries spread over the authors: mostly ballots, some alerts and acks."""
    chains: dict[bytes, list[Entry]] = {k.public_key: [] for k in keys}
    clock = BASE_TIME
    for i in range(total):
        key = keys[i % len(keys)] if i < len(keys) else rng.choice(keys)
        chain = chains[key.public_key]
        clock += rng.randrange(1, 30)
        ref = hashlib.blake2b(i.to_bytes(4, "big"), digest_size=6).digest()
        roll = rng.random()
        if roll < 0.03:
            body: object = AlertRaise(ref, clock + 3600, "eviction at the corner, come now")
        elif roll < 0.08:
            body = AlertAck(ref, AckStatus.COMING, 0)
        else:
            body = Ballot(ref, rng.randrange(3))
        prev = chain[-1].id if chain else None
        chain.append(sign_entry(key, len(chain), prev, clock, body))
    return chains


def wire(entry: Entry) -> bytes:
    """How an entry is first published: the full key on seq 0, so stores learn it."""
    return entry.encode(with_key=entry.seq == 0)

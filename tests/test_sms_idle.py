"""Two paired nodes on the SMS link send nothing while nothing changes (issue 13: paid SMS drained).

Before: every sync interval each node reconciled with its SMS peer whatever happened —
1,152 SMS a day for two idle in-sync nodes, 4,032 when started together, because equal
digests made each ignore the other's HELLO.  Whole nodes (NodeCore, stores, sessions, the
real sealed SmsLink and its budget) in virtual time (fieldkit/bench/smspair.py).
"""

from __future__ import annotations

import pytest

from codec.kinds import Minutes
from fieldkit.bench.smspair import SmsPair


@pytest.mark.parametrize("start_b_at", [0.0, 40.0])  # together (power back after an outage), or apart
def test_idle_in_sync_nodes_send_no_sms(start_b_at: float) -> None:
    pair = SmsPair(start_b_at=start_b_at)
    pair.run_for(3600, step=2.0)
    at_start = pair.sent()
    assert at_start <= 4  # a HELLO each at most, answered at once: equal digests say EQUAL and are done
    pair.run_for(86400, step=5.0)
    assert pair.sent() == at_start  # a whole idle day: nothing


def test_a_local_change_is_synced_then_silence_again() -> None:
    pair = SmsPair()
    pair.run_for(3600, step=2.0)
    entry = pair.a.store.append_own(pair.a.key, Minutes(bytes(6), "minutes of the meeting"), int(pair.smsc.now))
    pair.a.core.publish_local([entry])
    before = pair.sent()
    pair.run_for(3600, step=2.0)
    assert entry.id in pair.b.store
    assert pair.b.store.store_digest() == pair.a.store.store_digest()
    assert pair.sent() - before <= 4  # the push, and a sync that finds the stores equal
    settled = pair.sent()
    pair.run_for(86400, step=5.0)
    assert pair.sent() == settled


def test_a_change_missed_on_the_way_is_repaired_by_the_sync_after_it() -> None:
    pair = SmsPair()
    pair.run_for(600, step=2.0)
    pair.smsc._links.pop(pair.B)  # B's modem is off: the push is lost
    entry = pair.a.store.append_own(pair.a.key, Minutes(bytes(6), "while B was off"), int(pair.smsc.now))
    pair.a.core.publish_local([entry])
    pair.run_for(60, step=2.0)
    pair.smsc._links[pair.B] = pair.b.link  # back on
    pair.run_for(3600, step=2.0)
    assert entry.id in pair.b.store  # A's store changed since it last knew B in sync: it kept trying


def test_spoofed_binary_sms_from_the_peers_number_make_the_node_send_nothing() -> None:
    """Before: six spoofed binary SMS from a peer node's number made the node queue 3,061 SMS."""
    from fieldkit.bench.adversary import sms_after_spoofs

    assert sms_after_spoofs(0) == 0
    assert sms_after_spoofs(6) == 0

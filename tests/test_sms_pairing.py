"""Paired, sealed node-to-node SMS (radio/sms/seal.py) and the binary SMS budget.

The attacks (issue 13): six spoofed binary SMS from a peer node's number made the node queue
3,061 binary SMS; the GSM operator read every alert address and name between two nodes; the
daily cap was never consulted on the node-to-node link.  Real modems driven over ptys
against the emulated phone network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec import KeyPair
from codec.frames import FrameType
from fieldkit.home import Home, unlock
from fieldkit.sms.limits import Limits, LimitsConfig
from fieldkit.sms.pairs import PairingError, link_pairs
from radio.sms import InboundSms, Priority
from radio.sms.network import PhoneNetwork
from radio.sms.pdu import Encoding
from radio.sms.seal import INNER_MTU, OVERHEAD, ReplayWindow, SealError, open_sealed, pair_keys, seal
from radio.sms.tpdu import UserData
from tests.sms_fixtures import NODE_KEYS, wait_until
from tests.test_cli_node import fieldkit
from tests.test_sms_link import LinkNode

A, B = "+34600000001", "+34600000002"
ALERT = bytes((FrameType.ENTRY,)) + "Desalojo en Calle Mayor 14, 3ºB — venid ya".encode()


def test_both_nodes_derive_the_same_direction_keys_and_nobody_else_does() -> None:
    a, b, c = NODE_KEYS[A], NODE_KEYS[B], KeyPair(b"\x33" * 32)
    ab, ba = pair_keys(a, b.public_key), pair_keys(b, a.public_key)
    assert ab.tx == ba.rx and ab.rx == ba.tx and ab.tx != ab.rx
    cb = pair_keys(c, b.public_key)
    assert cb.tx != ab.tx
    sms = seal(ab.tx, 7, ALERT)
    assert len(sms) == len(ALERT) + OVERHEAD and OVERHEAD == 20 and INNER_MTU == 120
    assert open_sealed(ba.rx, sms) == (7, ALERT)
    with pytest.raises(SealError):
        open_sealed(pair_keys(b, c.public_key).rx, seal(cb.tx, 7, ALERT)[:-1] + b"\x00")
    with pytest.raises(SealError, match="itself"):
        pair_keys(a, a.public_key)


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_no_forged_bytes_open(sms: bytes) -> None:
    with pytest.raises(SealError):
        open_sealed(pair_keys(NODE_KEYS[A], NODE_KEYS[B].public_key).rx, sms)


@given(st.lists(st.integers(0, 300), max_size=60))
@settings(max_examples=200, deadline=None)
def test_replay_window_accepts_each_counter_at_most_once(counters: list[int]) -> None:
    window, accepted = ReplayWindow(), set()
    for c in counters:
        if window.fresh(c):
            assert c not in accepted
            window.accept(c)
            accepted.add(c)
        else:
            assert c in accepted or c < window.high - 64


def test_spoofed_and_replayed_binary_sms_change_nothing_and_cost_nothing(tmp_path: Path) -> None:
    network = PhoneNetwork()
    a = LinkNode(network, A, B, tmp_path / "a")
    b = LinkNode(network, B, A, tmp_path / "b")
    try:
        a.link.send(ALERT, B, Priority.ALERT)
        assert b.received(1) == [ALERT]
        [(_, genuine)] = [(s, sub) for s, sub in network.submitted if s == A]
        # what the operator sees: neither the address nor anything else of the frame
        assert b"Calle Mayor" not in genuine.user_data.data and ALERT[1:20] not in genuine.user_data.data
        # six spoofed SMS from A's number: plain frames, a HELLO, random bytes, a sealed one under another key
        mallory = pair_keys(KeyPair(b"\x66" * 32), NODE_KEYS[B].public_key)
        spoofs = [ALERT, bytes((FrameType.SYNC, 0x05, 0x80, 0x08, 0x00)), bytes(range(140)),
                  seal(mallory.tx, 0, ALERT), seal(mallory.tx, 99, ALERT), genuine.user_data.data[:-1] + b"\x01"]
        for data in spoofs:
            network.send_raw(A, B, UserData(Encoding.BINARY, data=data))
        assert wait_until(lambda: b.link.stats.dropped_unauthenticated == 6)
        # a replay of the genuine SMS, later (the inbox's own duplicate check aside)
        assert b.link.feed(InboundSms(999, A, 1, Encoding.BINARY, genuine.user_data.data, False, 0.0))
        assert b.link.stats.dropped_replays == 1
        assert b.frames.empty()
        assert b.modem.outbox.counts() == {}  # B queued nothing at all
    finally:
        a.close()
        b.close()


def test_counters_survive_a_restart_so_no_nonce_is_reused(tmp_path: Path) -> None:
    network = PhoneNetwork()
    a = LinkNode(network, A, B, tmp_path / "a", start=False)
    for i in range(3):
        a.link.send(bytes((FrameType.SYNC, i)), B)
    a.link.close()
    a.modem.stop()
    a.emulator.close()
    again = LinkNode(network, A, B, tmp_path / "a", start=False)
    again.link.send(bytes((FrameType.SYNC, 9)), B)
    keys = pair_keys(NODE_KEYS[B], NODE_KEYS[A].public_key)
    payloads = [bytes(r[0]) for r in again.modem.outbox._db.execute("SELECT payload FROM outbox ORDER BY id")]
    seen = [open_sealed(keys.rx, p)[0] for p in payloads]
    assert len(set(seen)) == 4 and seen[:3] == [0, 1, 2] and seen[3] >= 3
    again.close()


def test_binary_sms_have_a_daily_budget_of_their_own_with_a_share_for_alerts(tmp_path: Path) -> None:
    limits = Limits(LimitsConfig(daily_parts=100, daily_binary_parts=10, alert_reserve=0.2), tmp_path / "spent.json")
    now = 20_000 * 86400
    assert sum(limits.spend_binary(1, now) for _ in range(20)) == 8  # 80 % of 10 for sync and other frames
    assert limits.spend_binary(2, now, alert=True) and not limits.spend_binary(1, now, alert=True)
    assert limits.parts_today == 10  # they count in the daily cap too
    assert limits.spend(50, now)  # and the phones' share is still there
    reloaded = Limits(limits.config, tmp_path / "spent.json")
    assert not reloaded.spend_binary(1, now, alert=True) and reloaded.binary_today == 10  # a restart keeps it
    assert reloaded.spend_binary(1, now + 86400)  # a new day


def test_the_link_drops_frames_past_the_budget(tmp_path: Path) -> None:
    network = PhoneNetwork()
    a = LinkNode(network, A, B, tmp_path / "a", start=False)
    limits = Limits(LimitsConfig(daily_binary_parts=5, alert_reserve=0.4))
    a.link.allow_send = lambda parts, alert: limits.spend_binary(parts, 20_000 * 86400, alert)
    sent = [a.link.send(bytes((FrameType.SYNC, i)), B) for i in range(5)]
    assert [len(ids) for ids in sent] == [1, 1, 1, 0, 0] and a.link.stats.dropped_budget == 2
    assert a.link.send(ALERT, B, Priority.ALERT)  # the alerts' share
    a.close()


def test_pairing_from_the_cli(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    keys = {}
    for home in (one, two):
        assert fieldkit(home, "init", "--name", home.name, "--no-passphrase").returncode == 0
        keys[home] = json.loads(fieldkit(home, "whoami", "--json").stdout)["public_key"]
    done = fieldkit(one, "sms", "pair", "+34 600 000 002", keys[two], "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"number": B, "public_key": keys[two]}
    listed = json.loads(fieldkit(one, "sms", "pairs", "--json").stdout)
    assert listed == {"pairs": [{"number": B, "public_key": keys[two]}]}
    sealer = unlock(Home(one)).sealer
    assert link_pairs(one, (), sealer) == {B: bytes.fromhex(keys[two])}
    with pytest.raises(PairingError, match="not paired"):
        link_pairs(one, (A,), sealer)
    assert all(b"600000002" not in p.read_bytes() for p in one.rglob("*") if p.is_file())  # sealed at rest
    own = fieldkit(one, "sms", "pair", A, keys[one])
    assert own.returncode == 1 and "itself" in own.stderr
    bad = fieldkit(one, "sms", "pair", A, "12ab")
    assert bad.returncode == 1 and "64 hex digits" in bad.stderr
    assert fieldkit(one, "sms", "unpair", B).returncode == 0
    assert json.loads(fieldkit(one, "sms", "pairs", "--json").stdout) == {"pairs": []}


def test_node_run_refuses_an_sms_peer_that_is_not_paired(tmp_path: Path) -> None:
    home = tmp_path / "n"
    assert fieldkit(home, "init", "--name", "n", "--no-passphrase").returncode == 0
    (home / "node.toml").write_text('sms_peers = ["+34600111222"]\n')
    result = fieldkit(home, "node", "run", "--link", "sms:/dev/null")
    assert result.returncode == 1
    assert "not paired" in result.stderr and "fieldkit sms pair +34600111222" in result.stderr

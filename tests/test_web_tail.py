"""The web server's log tail: held entries other processes append, read before the views catch up."""

from __future__ import annotations

from pathlib import Path

from codec import kinds
from fieldkit.home import STORE_DIR, Home
from fieldkit.nodestore import open_node_store
from fieldkit.web.tail import LogTail
from sync.store import LOG_FILE
from tests.web_support import CliHome


def test_the_tail_reads_held_entries_once_and_waits_for_a_whole_record(tmp_path: Path) -> None:
    node = CliHome(tmp_path / "n", "n")
    assembly = node.ok("assembly", "create", "Kitchen", "--need", "food")["id"]
    log = tmp_path / "n" / STORE_DIR / LOG_FILE
    tail = LogTail(log)
    assert tail.read_new() == []
    raised = node.ok("alert", "raise", assembly, "Eviction at 12 Main St")["id"]
    seen = tail.read_new()
    assert [e.id.hex() for e in seen] == [raised]
    assert isinstance(seen[0].body, kinds.AlertRaise) and seen[0].body.text == "Eviction at 12 Main St"
    assert tail.read_new() == []
    # an append in progress (half a record on disk) is read once it is whole
    node.ok("alert", "raise", assembly, "Second alert")
    whole = log.read_bytes()
    cut = tail.pos + (len(whole) - tail.pos) // 2
    log.write_bytes(whole[:cut])
    assert tail.read_new() == []
    log.write_bytes(whole)
    assert [e.body.text for e in tail.read_new()] == ["Second alert"]
    with open_node_store(Home(tmp_path / "n")) as store:
        assert len(store) == 3


def test_the_tail_gives_up_on_what_it_cannot_read_and_follows_a_replaced_log(tmp_path: Path) -> None:
    node = CliHome(tmp_path / "n", "n")
    log = tmp_path / "n" / STORE_DIR / LOG_FILE
    tail = LogTail(log)
    log.write_bytes(log.read_bytes()[:10])  # shorter: replaced by a repair
    assert tail.read_new() == [] and tail.pos == 10 and tail.working
    tail.path = tmp_path / "gone"
    log.write_bytes(b"x" * 100)
    assert tail.read_new() == [] and not tail.working  # the refresh path tells the phones instead
    assert node.key_id


def test_a_bulk_arrival_is_told_in_a_few_events_and_old_alerts_ring_nothing() -> None:
    from codec import AckStatus, KeyPair, sign_entry
    from fieldkit.web.node import EVENTS_PER_KIND, MAX_STREAM_QUEUE, events_for

    key = KeyPair(bytes(32))
    entries, prev = [], None
    now = 1_800_000_000
    for i in range(3000):
        body = (kinds.Ballot(bytes([i % 7]) * 6, 0) if i % 3 == 0 else
                kinds.AlertAck(bytes([i % 5]) * 6, AckStatus.COMING, 0) if i % 3 == 1 else
                kinds.AlertRaise(bytes(6), now + (60 if i % 2 else -60), f"alert {i}"))
        e = sign_entry(key, i, prev, now - 3600 + i, body)
        prev = e.id
        entries.append(e)
    events = events_for(entries, now)
    assert len(events) < MAX_STREAM_QUEUE
    names = [e.name for e in events]
    assert names.count("ballot") == 7 and names.count("ack") == 5 and names.count("change") == 1
    assert names.count("alert") == EVENTS_PER_KIND
    assert all(e.data["expires"] > now for e in events if e.name == "alert")

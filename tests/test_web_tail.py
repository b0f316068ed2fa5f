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

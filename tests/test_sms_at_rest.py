"""SMS storage at rest (issue 17): sealed rows, PIN scrubbed once parsed, finished rows deleted.

Each test reads the raw database files (main file and WAL) the way someone holding the
card would, and looks for the number, the text and the PIN.
"""

from __future__ import annotations

from pathlib import Path

from codec.sealing import Sealer
from fieldkit.sms import grammar
from fieldkit.sms.subscribers import Subscribers
from radio.sms.inbox import Inbox
from radio.sms.pdu import Encoding
from radio.sms.queue import Priority, SendQueue, State
from radio.sms.tpdu import Concat, Deliver, UserData

PHONE = "+34600999123"
SEALER = Sealer(bytes(range(32)))


def raw(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_inbox_rows_are_sealed_scrubbed_and_pruned(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite"
    inbox = Inbox(path, timeout=60, sealer=SEALER)
    text = "VOTO fd496c huelga 4821"
    assert inbox.store(Deliver(PHONE, 1000, UserData(Encoding.GSM7, text=text)), now=1000)
    halves = ("ALERTA desalo", "jo 4821")
    parts = [UserData(Encoding.GSM7, text=t, concat=Concat(7, 2, i + 1)) for i, t in enumerate(halves)]
    assert inbox.store(Deliver(PHONE, 1001, parts[1]), 1001) and inbox.store(Deliver(PHONE, 1002, parts[0]), 1002)
    assert not inbox.store(Deliver(PHONE, 1009, parts[1]), 1010)  # a resend is still spotted (keyed hash)
    first, second = inbox.pending()
    assert (first.sender, first.text, second.text) == (PHONE, text, "ALERTA desalojo 4821")
    for secret in (b"600999123", b"huelga", b"4821", b"desalo"):
        assert secret not in raw(path), secret
    inbox.scrub(first.id, grammar.without_pin(first.text, "4821"))
    assert inbox.pending()[0].text == "VOTO fd496c huelga ****"
    inbox.mark_handled(first.id)
    inbox.mark_handled(second.id)
    assert inbox.pending() == []
    inbox.prune(before=2000)
    with inbox._lock:
        left = inbox._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] + inbox._db.execute(
            "SELECT COUNT(*) FROM parts").fetchone()[0]
    assert left == 0
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated: no old pages in the WAL
    inbox.close()


def test_send_queue_rows_are_sealed_and_delivered_rows_pruned(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    queue = SendQueue(path, sealer=SEALER)
    item_id = queue.put_text(PHONE, "ALERT Desalojo en Mayor 12", Priority.ALERT, 1000)
    item = queue.next_ready(1000)
    assert item is not None and (item.number, item.text) == (PHONE, "ALERT Desalojo en Mayor 12")
    queue.mark_sent(item, [42], 1001)
    assert queue.record_report(PHONE, 42, 0x00, True) == item_id  # matched by the keyed hash of the number
    assert queue.state(item_id)[0] is State.DELIVERED
    assert queue.recent()[0]["number"] == PHONE
    for secret in (b"600999123", b"Desalojo"):
        assert secret not in raw(path), secret
    assert queue.prune(before=1000) == 0  # not yet past the window
    assert queue.prune(before=1002) == 1
    assert queue.recent() == []
    queue.close()


def test_subscribers_are_sealed_and_the_pin_needs_the_data_key(tmp_path: Path) -> None:
    from codec import KeyPair

    node = KeyPair.generate()
    subs = Subscribers(tmp_path, node, SEALER)
    sub = subs.enrol(PHONE, "4821", "es", 1000, name="Ana Torres")
    assert subs.verify_pin(PHONE, "4821") and not subs.verify_pin(PHONE, "4822")
    held = subs.member_key(sub).seed
    subs.set_duress(PHONE, "1379")
    fired: list[str] = []
    subs.on_duress = fired.append
    assert not subs.verify_pin(PHONE, "1379") and fired == [PHONE]
    subs.close()
    data = raw(tmp_path / "sms" / "subscribers.sqlite")
    for secret in (b"600999123", b"Ana Torres", b"$argon2id", held, held.hex().encode()):
        assert secret not in data, secret
    # the same file under another data key: nothing opens, no PIN checks out (the pepper is the data key)
    other = Subscribers(tmp_path, node, Sealer(bytes(32)))
    assert other.get(PHONE) is None and not other.verify_pin(PHONE, "4821")
    other.close()


def test_without_pin_masks_only_the_pin() -> None:
    assert grammar.without_pin("VOTE 12ab si 4821", "4821") == "VOTE 12ab si ****"
    assert grammar.without_pin("ALERT fire at 4821 Main 4821", "4821") == "ALERT fire at 4821 Main ****"

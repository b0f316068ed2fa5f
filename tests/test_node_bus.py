"""One publisher per node: events of one node never reach another's listeners."""

from __future__ import annotations

import logging

import pytest

from fieldkit.node.bus import NodeBus, ReadableLog


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def on_state(self, link: str, state: str, detail: str) -> None:
        self.seen.append((link, state))


def test_buses_are_separate() -> None:
    a, b = NodeBus(), NodeBus()
    ra, rb = Recorder(), Recorder()
    a.subscribe(ra.on_state, "link_state")
    b.subscribe(rb.on_state, "link_state")
    a.publish("link_state", link="radio", state="up", detail="")
    assert ra.seen == [("radio", "up")] and rb.seen == []


def test_message_data_is_checked() -> None:
    bus = NodeBus()
    with pytest.raises(Exception, match="link"):
        bus.publish("link_state", state="up", detail="")
    with pytest.raises(KeyError):
        bus.publish("no_such_topic")


def test_readable_log(caplog: pytest.LogCaptureFixture) -> None:
    bus = NodeBus()
    keep = ReadableLog(bus, logging.getLogger("fieldkit.test"))
    with caplog.at_level(logging.INFO):
        bus.publish("entry_refused", via="radio", sender="!a1b2", reason="signature does not verify")
        bus.publish("airtime", link="radio", used_fraction=0.42)
    assert "refused from !a1b2 on radio: signature does not verify" in caplog.text
    assert "42.0%" in caplog.text
    del keep

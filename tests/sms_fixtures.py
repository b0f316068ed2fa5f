"""Shared set-up for SMS tests: a phone network, emulated modems on ptys, drivers over pyserial."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from radio.sms import GsmModem, InboundSms, ModemConfig
from radio.sms.emulator import EmulatedModem


def fast_config(port: str, **overrides: object) -> ModemConfig:
    """Short intervals so the tests run in seconds; the code paths are the production ones."""
    values = dict(
        poll=0.05, sweep_interval=0.5, send_interval=0.01, command_timeout=1.0, send_timeout=2.0,
        list_timeout=2.0, ping_interval=0.5, max_failures=2, reset_wait=0.5, reconnect_wait=0.2,
        retry_backoff=0.1,
    )
    values.update(overrides)
    return ModemConfig(port, **values)  # type: ignore[arg-type]


class Node:
    """An emulated modem and the real driver talking to it over the pty."""

    def __init__(self, emulator: EmulatedModem, state_dir: Path, on_message: Callable[[InboundSms], None] | None = None,
                 port: str | None = None, **config: object) -> None:
        self.emulator = emulator
        self.received: list[InboundSms] = []
        handler = on_message or self.received.append
        self.modem = GsmModem(fast_config(port or emulator.port, **config), state_dir, handler)
        self.modem.start()

    def stop(self) -> None:
        self.modem.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# Node keys for tests of the node-to-node SMS link (pairing: radio/sms/seal.py).
from codec import KeyPair  # noqa: E402

NODE_KEYS = {"+34600000001": KeyPair(b"\x31" * 32), "+34600000002": KeyPair(b"\x32" * 32)}


def pairs_for(number: str, *peers: str) -> dict[str, bytes]:
    """What `fieldkit sms pair` gives the node at ``number``: each peer's public key."""
    return {p: NODE_KEYS[p].public_key for p in peers}

"""`node run`: the node service with real links, a loop, logs, and a clean stop.

The runner owns the I/O: it opens the store and the links named by the settings, feeds
frames and the clock into `NodeCore`, and stops cleanly on SIGTERM or Ctrl-C (links
stopped, outboxes persisted, store closed).  Links retry by themselves; a link that
fails at start is fatal only in strict mode when it is the only one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from codec import DecodeError, FieldkitError, KeyPair, VerifyError, key_id
from codec.frames import LORA_MTU
from codec.panic import is_panic_frame, verify_panic
from fieldkit.home import Home, unlock
from fieldkit.keyagent import KeyAgent
from fieldkit.nodestore import open_node_store
from fieldkit.vault import Vault
from radio.meshtastic_link import MeshtasticLink
from radio.outbox import Priority
from radio.sms.link import SmsLink
from radio.sms.modem import ModemConfig
from radio.sms.queue import Priority as SmsPriority
from radio.supervisor import LinkState, LinkStatus

from .airtime import AirtimeMeter
from .bus import NodeBus, ReadableLog
from .config import NodeConfig
from .core import NodeCore
from .duties import SEAL_EVERY_S, Duties
from .linkspec import SmsSpec, parse_link_spec
from .panicking import GpioButton, Panicker, PanicWatch

TICK_S = 0.2  # how often the loop looks for new local entries: CLI.md asks for "within a second"
AIRTIME_LOG_EVERY_S = 300.0
STRICT_WAIT_S = 20.0
OUTBOX_DIR = "outbox"

# Frame priority -> the SMS send queue's priority (alerts first there too).
SMS_PRIORITY = {
    Priority.ALERT: SmsPriority.ALERT,
    Priority.BALLOT: SmsPriority.REPLY,
    Priority.SYNC: SmsPriority.NORMAL,
    Priority.OTHER: SmsPriority.BULK,
}


class LinkFailed(FieldkitError):
    """Strict mode: the only link could not be opened."""


class SmsPort:
    """The node-to-node SMS link as the core sees a link: broadcasts go to every peer node."""

    def __init__(self, link: SmsLink, peers: tuple[str, ...]) -> None:
        self.link = link
        self.peers = peers
        self.mtu = link.mtu

    def send(self, frame: bytes, dest: str | None, priority: Priority, want_ack: bool = False,
             local: bool = False) -> None:
        for number in (dest,) if dest is not None else self.peers:
            self.link.send(frame, number, SMS_PRIORITY[priority])


class MeshtasticPort:
    def __init__(self, link: MeshtasticLink) -> None:
        self.link = link
        self.mtu = LORA_MTU

    def send(self, frame: bytes, dest: str | None, priority: Priority, want_ack: bool = False,
             local: bool = False) -> None:
        self.link.send(frame, dest, priority, want_ack, local)


class NodeRunner:
    def __init__(
        self,
        home: Home,
        config: NodeConfig,
        key: KeyPair,
        logger: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home
        self.config = config
        self.key = key
        self.log = logger
        self.clock = clock
        self.bus = NodeBus()
        self._readable = ReadableLog(self.bus, logger)  # kept: pypubsub holds listeners weakly
        self.unlocked = unlock(home)  # unlocked already by the command: cached for this process
        self.sealer = self.unlocked.sealer
        self.panicker = Panicker(home.path, logger)
        button = None
        if config.panic.gpio:
            button = GpioButton(Path(config.panic.gpio), config.panic.gpio_active, config.panic.gpio_hold_s)
        self.panic_watch = PanicWatch(self.panicker, button)
        self.agent = KeyAgent(home.path, self.unlocked.data_key, lambda key: key == self.unlocked.data_key,
                              lambda: self.panicker.trigger("`fieldkit panic`"), self._broadcast)
        self._panic_keys = [bytes.fromhex(k) for k in config.panic.keys]
        self._keyfiles = Vault.load(home.path).keyfile_paths() if self.unlocked.how == "key file" else []
        # the node's clock: entries claiming a time far beyond it are held until then (issue 12)
        self.store = open_node_store(home, clock=lambda: int(self.clock()))
        for notice in self.store.notices:
            logger.warning("store: %s", notice)
        self.core = NodeCore(self.store, self.bus, float(config.sync_interval))
        self.duties = Duties(self.store, key, self.clock)
        self.core.alert_policy = self.duties.alert_policy  # strangers' alerts are not pushed as alerts
        self.meter = AirtimeMeter(config.region, config.preset)
        self.states: dict[str, LinkState] = {}
        self._links: list[MeshtasticLink] = []
        self._gateways: list = []
        self.stop_event = threading.Event()
        self._stopped = False
        self.bus.subscribe(self.on_frame_sent, "frame_sent")
        for spec_text in config.links:
            self._open_link(spec_text)

    # --- links -------------------------------------------------------------------------

    def _open_link(self, spec_text: str) -> None:
        spec = parse_link_spec(spec_text)
        name = str(spec)
        outbox = self.home.path / OUTBOX_DIR
        outbox.mkdir(exist_ok=True, mode=0o700)
        if isinstance(spec, SmsSpec):
            from fieldkit.sms.gateway import SmsGateway
            from fieldkit.sms.pairs import link_pairs

            gateway = SmsGateway(
                self.home.path, self.key, self.store, ModemConfig(port=spec.path),
                pairs=link_pairs(self.home.path, self.config.sms_peers, self.sealer),
                on_frame=self._frame_handler(name),
                limits=self.config.sms, clock=self.clock, store_lock=self.core.lock,
                sealer=self.sealer, alert_first=self.core.settling.alert_arriving,
            )
            gateway.subscribers.on_duress = lambda who: self.panicker.trigger("duress PIN by SMS")
            self._gateways.append(gateway)
            self.core.add_link(name, SmsPort(gateway.link, tuple(sorted(gateway.link.peers))))
            return
        safe = "".join(c if c.isalnum() else "_" for c in name)
        link = MeshtasticLink(
            spec, Path(outbox) / f"{safe}.sqlite", self._frame_handler(name),
            on_state=self._state_handler(name), clock=self.clock, sealer=self.sealer.derive("outbox"),
        )
        self._links.append(link)
        self.core.add_link(name, MeshtasticPort(link))

    def _frame_handler(self, name: str) -> Callable[[bytes, str], None]:
        def handle(frame: bytes, sender: str) -> None:
            if is_panic_frame(frame):
                self._panic_frame(frame)
                return
            self.core.on_frame(name, sender, frame, self.clock())

        return handle

    def _panic_frame(self, frame: bytes) -> None:
        try:
            key = verify_panic(frame, self._panic_keys, self.key.public_key, int(self.clock()))
        except (DecodeError, VerifyError) as exc:
            self.log.warning("panic frame ignored: %s", exc.reason)
            return
        self.panicker.trigger(f"signed panic frame from key {key_id(key).hex()}")

    def _broadcast(self, frame: bytes) -> bool:
        """A frame from `fieldkit panic --node` on this home: out on every link at once."""
        with self.core.lock:
            for port in self.core.links.values():
                port.send(frame, None, Priority.ALERT)
        return bool(self.core.links)

    def _state_handler(self, name: str) -> Callable[[LinkState], None]:
        def handle(state: LinkState) -> None:
            self.states[name] = state
            self.bus.publish("link_state", link=name, state=state.status.value, detail=state.detail)

        return handle

    def on_frame_sent(self, link: str, dest: str, size: int, kind: int) -> None:
        if link.startswith("meshtastic"):
            self.meter.record(size, self.clock())

    # --- running -------------------------------------------------------------------------

    def start(self) -> None:
        if not self.agent.start():
            self.log.warning("no key agent: the home's path is too long for a unix socket")
        self.panic_watch.start()
        for link in self._links:
            link.start()
        for gateway in self._gateways:
            gateway.start()
        self.log.info("node %s running on %s", self.key.key_id.hex(), ", ".join(self.config.links) or "no links")
        if self.config.strict and len(self.config.links) == 1 and self._links:
            self._wait_strict(str(self._links[0].spec))

    def _wait_strict(self, name: str) -> None:
        deadline = time.monotonic() + STRICT_WAIT_S
        while time.monotonic() < deadline and not self.stop_event.is_set():
            state = self.states.get(name)
            if state is not None and state.status is LinkStatus.UP:
                return
            time.sleep(0.1)
        raise LinkFailed(f"strict mode: link {name} did not come up within {STRICT_WAIT_S:.0f} s")

    def run(self) -> None:
        """Loop until stop_event is set (SIGTERM, Ctrl-C)."""
        next_airtime_log = self.clock() + AIRTIME_LOG_EVERY_S
        next_seal = self.clock() + TICK_S  # soon after start: proposals may have closed while it was off
        while not self.stop_event.is_set():
            now = self.clock()
            self.core.tick(now)
            if now >= next_seal:
                next_seal = now + SEAL_EVERY_S
                with self.core.lock:
                    self.core.publish_local(self.duties.seal())
            for gateway in self._gateways:
                with self.core.lock:
                    gateway.on_tick(int(now))
            if self._keyfiles and not any(p.exists() for p in self._keyfiles):
                self.log.warning("the key file's stick was pulled: locking (stopping the node)")
                self.stop_event.set()
                break
            if self._links and now >= next_airtime_log:
                self.bus.publish("airtime", link="radio", used_fraction=self.meter.used_fraction(now))
                next_airtime_log = now + AIRTIME_LOG_EVERY_S
            self.stop_event.wait(TICK_S)

    def stop(self) -> None:
        """Stop links and close the store; safe to call more than once."""
        self.stop_event.set()
        if self._stopped:
            return
        self._stopped = True
        self.agent.stop()
        self.panic_watch.stop()
        for link in self._links:
            link.stop()
        for gateway in self._gateways:
            gateway.stop()
        with self.core.lock:
            self.store.close()
        self.log.info("node stopped; outbox kept for the next start")

"""The node's event bus: one pypubsub Publisher per node, so a simulation can run many
nodes in one process without their events mixing (DESIGN.md, Layers).

Topics (flat names: dotted ones would create parent topics) and their message data
are fixed here; pypubsub checks every send against them.
Listeners are held by weak reference (docs/research/meshtastic.md 1.3): subscribe bound
methods of long-lived objects or module-level functions, never lambdas.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from pubsub.core import AUTO_TOPIC, Publisher

# topic -> names of its message data
TOPICS: dict[str, tuple[str, ...]] = {
    "entry_added": ("entry", "via"),  # an entry joined the log (via: "local", a link name, "bundle")
    "entry_refused": ("via", "sender", "reason"),  # a frame or entry that did not decode/verify/chain
    "frame_sent": ("link", "dest", "size", "kind"),
    "frame_received": ("link", "sender", "size", "kind"),
    "link_state": ("link", "state", "detail"),
    "sync_finished": ("link", "peer", "stats"),
    "airtime": ("link", "used_fraction"),
    "sms_received": ("number_tag", "summary"),
    "sms_sent": ("number_tag", "summary"),
}


class NodeBus:
    """A private Publisher with the node's topics declared up front."""

    def __init__(self) -> None:
        self.publisher = Publisher()
        self._topics = {topic: self.publisher.getTopicMgr().getOrCreateTopic(topic, _prototype(args))
                        for topic, args in TOPICS.items()}

    def publish(self, topic: str, **data: Any) -> None:
        obj = self._topics.get(topic)
        if obj is None:
            raise KeyError(f"unknown topic {topic}")
        if not obj.hasListeners():
            # nobody listens (a simulated node's frame events): skip pypubsub's dispatch, not the check
            if data.keys() != set(TOPICS[topic]):
                missing = sorted(set(TOPICS[topic]) - data.keys())
                extra = sorted(data.keys() - set(TOPICS[topic]))
                raise TypeError(f"topic {topic}: message data missing {missing}, unexpected {extra}")
            return
        self.publisher.sendMessage(topic, **data)

    def subscribe(self, listener: Callable[..., Any], topic: str) -> None:
        self.publisher.subscribe(listener, topic)


def _prototype(args: tuple[str, ...]) -> Callable[..., None]:
    """A function whose signature declares the topic's message data (pypubsub's way)."""

    def proto(**_: Any) -> None:
        return None

    # pypubsub reads the topic's message data from inspect.signature (pubsub/core/callables.py)
    proto.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in args]
    )
    return proto


class ReadableLog:
    """Turns bus events into log lines a node operator can read."""

    def __init__(self, bus: NodeBus, logger: logging.Logger) -> None:
        self.logger = logger
        for topic in TOPICS:
            bus.subscribe(self.on_event, topic)

    def on_event(self, topic: Any = AUTO_TOPIC, **data: Any) -> None:
        name = topic.getName()
        if name == "entry_added":
            e = data["entry"]
            self.logger.info("added %s #%d from %s via %s", e.kind.label, e.seq, e.author.hex()[:8], data["via"])
        elif name == "entry_refused":
            self.logger.warning("refused from %s on %s: %s", data["sender"], data["via"], data["reason"])
        elif name == "link_state":
            self.logger.info("link %s %s %s", data["link"], data["state"], data["detail"])
        elif name == "airtime":
            self.logger.info("link %s airtime used %.1f%% of the hour's budget", data["link"],
                             100 * data["used_fraction"])
        else:
            self.logger.debug("%s %s", name, data)

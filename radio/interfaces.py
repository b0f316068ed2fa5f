"""The real meshtastic interfaces, with two additions the link needs.

* ``fieldkit_owner``: set before the handshake starts, so pubsub listeners can tell
  their own interface's events apart (topics are process-global) even for packets
  published while the constructor is still running.
* ``on_queue_status``: called for each FromRadio.queueStatus, the device's word that
  it took a packet (the library keeps no public event for it; research note 1.5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meshtastic.mesh_interface import MeshInterface
from meshtastic.serial_interface import SerialInterface
from meshtastic.tcp_interface import TCPInterface

from radio.spec import MeshtasticSpec

QueueStatusHook = Callable[[Any], None]


class _Hooks:
    fieldkit_owner: object = None
    on_queue_status: QueueStatusHook | None = None

    def _handleQueueStatusFromRadio(self, queueStatus: Any) -> None:  # noqa: N802, N803 - library names
        super()._handleQueueStatusFromRadio(queueStatus)  # type: ignore[misc]
        hook = self.on_queue_status
        if hook is not None:
            hook(queueStatus)


class FieldkitTCPInterface(_Hooks, TCPInterface):
    def __init__(self, owner: object, hook: QueueStatusHook, host: str, port: int, timeout: int) -> None:
        self.fieldkit_owner = owner
        self.on_queue_status = hook
        super().__init__(host, portNumber=port, timeout=timeout)


class FieldkitSerialInterface(_Hooks, SerialInterface):
    def __init__(self, owner: object, hook: QueueStatusHook, path: str, timeout: int) -> None:
        self.fieldkit_owner = owner
        self.on_queue_status = hook
        super().__init__(devPath=path, timeout=timeout)


def open_interface(spec: MeshtasticSpec, owner: object, hook: QueueStatusHook, timeout: int = 10) -> MeshInterface:
    """Connect and finish the config handshake, or raise (the library cleans up after itself)."""
    if spec.kind == "serial":
        return FieldkitSerialInterface(owner, hook, spec.path, timeout)
    return FieldkitTCPInterface(owner, hook, spec.host, spec.port, timeout)

"""One emulated Meshtastic node: the device side of the stream API, on an Air.

A transport (server.py) hands the node a client connection as a ``Session``: the
bytes the client writes go to ``Session.feed``; FromRadio frames go back through the
session's writer. Like the firmware, the node serves one API client at a time: a new
session ends the previous one (firmware src/mesh/api/ServerAPI.cpp "Force close
previous TCP connection").

The handshake follows the firmware's order (src/mesh/PhoneAPI.cpp): my_info, own
node_info, metadata, channels x8, config sections, module config, other nodes'
node_info, config_complete_id. Every packet from the client gets a queueStatus, or
the library re-sends it (research note 1.5).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from google.protobuf.message import DecodeError
from meshtastic.protobuf import admin_pb2, mesh_pb2, portnums_pb2

from radio.air import BROADCAST, Air, AirPacket
from radio.emulator.admin import handle_admin
from radio.emulator.framing import FrameParser, FramingError, encode_frame
from radio.emulator.state import DeviceState

log = logging.getLogger(__name__)

ONLY_CONFIG_NONCE = 69420  # firmware SPECIAL_NONCE_ONLY_CONFIG: skip other nodes' node_info
ONLY_NODES_NONCE = 69421  # firmware SPECIAL_NONCE_ONLY_NODES
# firmware src/mesh/RadioInterface.h: MAX_LORA_PAYLOAD_LEN 255, MESHTASTIC_HEADER_LENGTH 16
MAX_LORA_PAYLOAD = 255
HEADER_LENGTH = 16
TX_QUEUE_LEN = 16  # firmware MAX_TX_QUEUE; we report it as always free (sends are instant)
TO_PHONE_QUEUE = 32  # firmware MAX_RX_TOPHONE: packets kept for a client that is not connected


class Session:
    """One connected API client. ``write`` must be safe to call from any thread."""

    def __init__(self, node: EmulatedNode, write: Callable[[bytes], None], close: Callable[[], None]) -> None:
        self._node = node
        self._write = write
        self._close = close
        self._parser = FrameParser()
        self._lock = threading.Lock()
        self.configured = False  # handshake done: live packets flow
        self.closed = False

    def feed(self, data: bytes) -> None:
        if self._node.hung:
            return  # a hung device reads nothing and answers nothing
        for payload in self._parser.feed(data):
            self._node._handle_to_radio(self, payload)

    def send(self, message: mesh_pb2.FromRadio) -> None:
        if self.closed:
            return
        try:
            frame = encode_frame(message.SerializeToString())
        except FramingError:
            log.error("dropping FromRadio larger than a stream frame")
            return
        with self._lock:
            try:
                self._write(frame)
            except OSError:
                self.closed = True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._close()


class EmulatedNode:
    """The device: its settings, its current client session, its place on the air."""

    def __init__(self, num: int, air: Air, long_name: str = "", short_name: str = "") -> None:
        self.num = num
        self.state = DeviceState(num, long_name or f"emulated {num:08x}", short_name or f"{num & 0xFFFF:04x}")
        self.air = air
        self._lock = threading.RLock()
        self._session: Session | None = None
        self._peers: dict[int, mesh_pb2.NodeInfo] = {}
        self._backlog: deque[mesh_pb2.MeshPacket] = deque(maxlen=TO_PHONE_QUEUE)
        self._seen: OrderedDict[int, None] = OrderedDict()  # client packet ids (firmware wasSeenRecently)
        self._pending_dest: OrderedDict[int, int] = OrderedDict()  # packet id -> dest, to source ACKs
        self.sent_packets = 0  # packets this node put on the air
        self.refused: list[tuple[int, str]] = []  # (packet id, NAK reason) refused before the air
        self.hung = False  # fault mode: the firmware stops serving its API but keeps the connection
        air.join(num, self)

    # --- directory -------------------------------------------------------------------------
    def add_peer(self, info: mesh_pb2.NodeInfo) -> None:
        """Make another node known, as its NodeInfo broadcast would on a real mesh."""
        if info.num != self.num:
            with self._lock:
                self._peers[info.num] = info

    def leave(self) -> None:
        self.air.leave(self.num)
        self.disconnect()

    # --- sessions --------------------------------------------------------------------------
    def connect(self, write: Callable[[bytes], None], close: Callable[[], None]) -> Session:
        session = Session(self, write, close)
        with self._lock:
            previous, self._session = self._session, session
        if previous is not None:
            previous.close()
        return session

    def end(self, session: Session) -> None:
        with self._lock:
            if self._session is session:
                self._session = None
        session.closed = True

    def disconnect(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._session is not None and not self._session.closed

    def reboot(self) -> None:
        """Tell the client the device rebooted (FromRadio.rebooted); the library re-handshakes."""
        session = self._current()
        if session is not None:
            session.configured = False
            session.send(mesh_pb2.FromRadio(rebooted=True))

    def _current(self) -> Session | None:
        with self._lock:
            return self._session

    # --- client -> device ------------------------------------------------------------------
    def _handle_to_radio(self, session: Session, payload: bytes) -> None:
        message = mesh_pb2.ToRadio()
        try:
            message.ParseFromString(payload)
        except DecodeError:  # a bad frame is skipped, as the firmware does
            log.warning("undecodable ToRadio frame of %d bytes", len(payload))
            return
        which = message.WhichOneof("payload_variant")
        if which == "want_config_id":
            self._send_config(session, message.want_config_id)
        elif which == "packet":
            self._handle_packet(session, message.packet)
        elif which == "heartbeat":
            session.send(mesh_pb2.FromRadio(queueStatus=self._queue_status(0)))
        elif which == "disconnect":
            session.close()

    def _send_config(self, session: Session, nonce: int) -> None:
        session.configured = False
        state = self.state
        if nonce != ONLY_NODES_NONCE:
            session.send(mesh_pb2.FromRadio(my_info=mesh_pb2.MyNodeInfo(my_node_num=self.num, min_app_version=30200)))
        session.send(mesh_pb2.FromRadio(node_info=state.node_info()))
        if nonce != ONLY_NODES_NONCE:
            session.send(mesh_pb2.FromRadio(metadata=state.metadata()))
            with state.lock:
                channels = [type(c)() for c in state.channels]
                for copy, channel in zip(channels, state.channels, strict=True):
                    copy.CopyFrom(channel)
            for channel in channels:
                session.send(mesh_pb2.FromRadio(channel=channel))
            for section in state.config_sections():
                session.send(mesh_pb2.FromRadio(config=section))
            for module in state.module_sections():
                session.send(mesh_pb2.FromRadio(moduleConfig=module))
        if nonce != ONLY_CONFIG_NONCE:
            with self._lock:
                peers = list(self._peers.values())
            for info in peers:
                session.send(mesh_pb2.FromRadio(node_info=info))
        session.send(mesh_pb2.FromRadio(config_complete_id=nonce))
        session.configured = True
        with self._lock:
            backlog = list(self._backlog)
            self._backlog.clear()
        for packet in backlog:
            session.send(mesh_pb2.FromRadio(packet=packet))

    def _queue_status(self, packet_id: int, res: int = 0) -> mesh_pb2.QueueStatus:
        return mesh_pb2.QueueStatus(res=res, free=TX_QUEUE_LEN, maxlen=TX_QUEUE_LEN, mesh_packet_id=packet_id)

    def _handle_packet(self, session: Session, packet: mesh_pb2.MeshPacket) -> None:
        session.send(mesh_pb2.FromRadio(queueStatus=self._queue_status(packet.id)))
        if not packet.HasField("decoded"):
            return  # the client library always sends decoded packets
        with self._lock:
            if packet.id in self._seen:
                return  # firmware drops duplicate ids from the client (PhoneAPI wasSeenRecently)
            self._seen[packet.id] = None
            while len(self._seen) > 256:
                self._seen.popitem(last=False)
        data = packet.decoded
        dest = packet.to
        if data.portnum == portnums_pb2.PortNum.ADMIN_APP and dest in (self.num, 0):
            self._handle_admin(session, packet)
            return
        if len(data.SerializeToString()) + HEADER_LENGTH > MAX_LORA_PAYLOAD:
            self._refuse(packet.id, "TOO_LARGE")  # firmware Router.cpp send()
            return
        if data.portnum == portnums_pb2.PortNum.UNKNOWN_APP:
            self._refuse(packet.id, "BAD_REQUEST")
            return
        # The library always fills hop_limit (from config.lora when not given), and the
        # firmware sends what it gets (MeshService::handleToRadio): 0 means neighbours only.
        hop_limit = packet.hop_limit
        with self._lock:
            self._pending_dest[packet.id] = dest
            while len(self._pending_dest) > 256:
                self._pending_dest.popitem(last=False)
            self.sent_packets += 1
        self.air.transmit(
            AirPacket(
                sender=self.num,
                dest=dest,
                packet_id=packet.id,
                portnum=int(data.portnum),
                payload=bytes(data.payload),
                want_ack=packet.want_ack,
                hop_limit=hop_limit,
                hop_start=hop_limit,
                channel=packet.channel,
                priority=packet.priority,
            )
        )

    def _refuse(self, packet_id: int, reason: str) -> None:
        with self._lock:
            self.refused.append((packet_id, reason))
        self._deliver_routing(packet_id, reason, self.num)

    def _handle_admin(self, session: Session, packet: mesh_pb2.MeshPacket) -> None:
        request = admin_pb2.AdminMessage()
        try:
            request.ParseFromString(packet.decoded.payload)
        except DecodeError:  # answer like the firmware, with a NAK
            self._deliver_routing(packet.id, "BAD_REQUEST", self.num)
            return
        response = handle_admin(self.state, request)
        if response is None:
            if packet.want_ack:
                self._deliver_routing(packet.id, "NONE", self.num)
            return
        reply = mesh_pb2.MeshPacket(id=_reply_id(packet.id), to=self.num, channel=packet.channel)
        setattr(reply, "from", self.num)
        reply.decoded.portnum = portnums_pb2.PortNum.ADMIN_APP
        reply.decoded.payload = response.SerializeToString()
        reply.decoded.request_id = packet.id
        reply.rx_time = int(time.time())
        session.send(mesh_pb2.FromRadio(packet=reply))

    # --- air -> device (AirReceiver) -------------------------------------------------------
    def on_air_receive(self, packet: AirPacket, rx_snr: float, rx_rssi: int) -> None:
        if packet.sender == self.num:
            return
        mesh = mesh_pb2.MeshPacket(
            to=packet.dest,
            id=packet.packet_id,
            channel=packet.channel,
            rx_time=int(time.time()),
            rx_snr=rx_snr,
            rx_rssi=rx_rssi,
            hop_limit=packet.hop_limit,
            hop_start=packet.hop_start,
            want_ack=packet.want_ack,
            priority=packet.priority,
        )
        setattr(mesh, "from", packet.sender)
        mesh.decoded.portnum = packet.portnum
        mesh.decoded.payload = packet.payload
        with self._lock:
            if packet.sender not in self._peers:
                self._peers[packet.sender] = mesh_pb2.NodeInfo(num=packet.sender)
        self._to_client(mesh)

    def on_air_routing(self, request_id: int, error_reason: str) -> None:
        with self._lock:
            dest = self._pending_dest.pop(request_id, BROADCAST)
        # A real ACK comes from the destination; an implicit one (broadcast) and a NAK
        # are generated by the local firmware (meshtastic/node.py onAckNak).
        source = dest if error_reason == "NONE" and dest != BROADCAST else self.num
        self._deliver_routing(request_id, error_reason, source)

    def _deliver_routing(self, request_id: int, error_reason: str, source: int) -> None:
        routing = mesh_pb2.Routing(error_reason=mesh_pb2.Routing.Error.Value(error_reason))
        mesh = mesh_pb2.MeshPacket(to=self.num, id=_reply_id(request_id), rx_time=int(time.time()))
        setattr(mesh, "from", source)
        mesh.decoded.portnum = portnums_pb2.PortNum.ROUTING_APP
        mesh.decoded.payload = routing.SerializeToString()
        mesh.decoded.request_id = request_id
        self._to_client(mesh)
        if error_reason == "DUTY_CYCLE_LIMIT":
            note = mesh_pb2.ClientNotification(
                reply_id=request_id,
                level=mesh_pb2.LogRecord.Level.WARNING,
                message="Duty cycle limit exceeded. You can send again in 1 mins",
            )
            session = self._current()
            if session is not None and session.configured:
                session.send(mesh_pb2.FromRadio(clientNotification=note))

    def _to_client(self, mesh: mesh_pb2.MeshPacket) -> None:
        session = self._current()
        if session is not None and session.configured and not session.closed and not self.hung:
            session.send(mesh_pb2.FromRadio(packet=mesh))
        else:
            with self._lock:
                self._backlog.append(mesh)


def _reply_id(request_id: int) -> int:
    # Any id distinct from the request's; the library keys responses on request_id.
    return (request_id * 2654435761 + 1) & 0xFFFFFFFF or 1

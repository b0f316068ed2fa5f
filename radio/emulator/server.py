"""Transports that expose an emulated node: loopback TCP and a pty, plus a group helper.

TCP listens on 127.0.0.1 unless told otherwise (`fieldkit emulate --listen`).
Closing a socket another thread is blocked in ``recv`` on does not send FIN on
Linux, so connections are ended with ``shutdown(SHUT_RDWR)`` first (research
note 1.9). The pty keeps its slave end open, otherwise reads on the master fail
with EIO once the client closes; the slave is put in raw mode. A stable symlink
can point at the pty, like /dev/serial/by-id/..., so a client reopens the same
path after the pty was closed and recreated (an unplug).

Fault modes for tests: ``drop()`` ends the current client connection (a device reset
or a network blip), ``stop()`` then ``start()`` restarts the emulator (connections are
refused in between), ``PtyTransport.unplug()`` / ``plug()`` remove and recreate the pty.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
import tty
from dataclasses import dataclass, field

from radio.air import Air
from radio.emulator.node import EmulatedNode, Session

# Seconds a write to a client may wait for it to read. Writes happen on whichever thread
# delivers a packet (often another node's), so a client that went away without closing
# (a pty nobody reads: we keep its slave open) must not hold them up for long.
WRITE_TIMEOUT = 2.0


class TcpTransport:
    """The node's TCP API (the firmware listens on 4403; we take any loopback port)."""

    def __init__(self, node: EmulatedNode, port: int = 0, host: str = "127.0.0.1") -> None:
        self.node = node
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(4)
        self.port = listener.getsockname()[1]  # keep the port across restarts
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), name=f"emu-tcp-{self.port}", daemon=True).start()

    def stop(self) -> None:
        """Stop listening and end every connection: new connections are refused until ``start``."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            _hard_close(listener)
        self.drop()

    def drop(self) -> None:
        """End the current client connections but keep listening."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _hard_close(conn)

    @property
    def listening(self) -> bool:
        with self._lock:
            return self._listener is not None

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # A client that stops reading must not block the air: give up on it after a while.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(WRITE_TIMEOUT), 0))
            with self._lock:
                if self._listener is not listener:
                    _hard_close(conn)
                    return
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name=f"emu-conn-{self.port}", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        session = self.node.connect(conn.sendall, lambda: _hard_close(conn))
        try:
            while not session.closed:
                try:
                    data = conn.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                session.feed(data)
        finally:
            self.node.end(session)
            _hard_close(conn)
            with self._lock:
                self._conns.discard(conn)


class PtyTransport:
    """The node's serial API on a pseudo-terminal (what SerialInterface opens)."""

    def __init__(self, node: EmulatedNode, link_path: str | None = None) -> None:
        self.node = node
        self.link_path = link_path
        self.path = ""  # the /dev/pts/N of the current pty
        self._master = -1
        self._slave = -1
        self._session: Session | None = None
        self._lock = threading.Lock()
        self._stop_r, self._stop_w = -1, -1

    @property
    def device(self) -> str:
        """The path a client should open: the stable link if any, else the pty."""
        return self.link_path or self.path

    def start(self) -> None:
        self.plug()

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        stop_r, stop_w = os.pipe()
        with self._lock:
            self._master, self._slave, self._stop_r, self._stop_w = master, slave, stop_r, stop_w
            self.path = os.ttyname(slave)
        if self.link_path:
            tmp = f"{self.link_path}.tmp{os.getpid()}"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(self.path, tmp)
            os.replace(tmp, self.link_path)
        reader = threading.Thread(target=self._read_loop, args=(master, stop_r), name="emu-pty", daemon=True)
        reader.start()

    def unplug(self) -> None:
        """Remove the pty, as pulling the USB cable removes /dev/ttyUSB0."""
        with self._lock:
            master, slave, stop_w = self._master, self._slave, self._stop_w
            self._master = self._slave = self._stop_w = -1
            session, self._session = self._session, None
        if master < 0:
            return
        if self.link_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.link_path)
        os.write(stop_w, b"x")
        os.close(stop_w)
        if session is not None:
            self.node.end(session)
        os.close(slave)
        os.close(master)

    def stop(self) -> None:
        self.unplug()

    def _write(self, data: bytes) -> None:
        with self._lock:
            master = self._master
        if master < 0:
            raise OSError("pty unplugged")
        view = memoryview(data)
        while view:
            try:
                written = os.write(master, view)
            except BlockingIOError:
                _, writable, _ = select.select([], [master], [], WRITE_TIMEOUT)
                if not writable:
                    raise OSError("nobody reads the serial line") from None
                continue
            view = view[written:]

    def _kicked(self) -> None:
        with self._lock:
            self._session = None

    def _read_loop(self, master: int, stop_r: int) -> None:
        try:
            while True:
                ready, _, _ = select.select([master, stop_r], [], [])
                if stop_r in ready:
                    return
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    session = self._session
                if session is None or session.closed:
                    session = self.node.connect(self._write, self._kicked)
                    with self._lock:
                        self._session = session
                session.feed(data)
        finally:
            os.close(stop_r)


def _hard_close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@dataclass
class EmulatedDevice:
    node: EmulatedNode
    tcp: TcpTransport | None = None
    pty: PtyTransport | None = None

    @property
    def tcp_spec(self) -> str | None:
        if self.tcp is None:
            return None
        host = "127.0.0.1" if self.tcp.host in ("0.0.0.0", "") else self.tcp.host
        return f"meshtastic:tcp:{host}:{self.tcp.port}"

    @property
    def serial_spec(self) -> str | None:
        return f"meshtastic:serial:{self.pty.device}" if self.pty else None


@dataclass
class EmulatorServer:
    """Several emulated nodes on one air, each on TCP and/or a pty; they know each other."""

    air: Air
    devices: list[EmulatedDevice] = field(default_factory=list)

    def add_node(
        self,
        num: int,
        long_name: str = "",
        short_name: str = "",
        tcp_port: int | None = 0,
        pty: bool = False,
        pty_link: str | None = None,
        host: str = "127.0.0.1",
    ) -> EmulatedDevice:
        node = EmulatedNode(num, self.air, long_name, short_name)
        for other in self.devices:
            other.node.add_peer(node.state.node_info())
            node.add_peer(other.node.state.node_info())
        device = EmulatedDevice(node)
        if tcp_port is not None:
            device.tcp = TcpTransport(node, tcp_port, host)
            device.tcp.start()
        if pty or pty_link:
            device.pty = PtyTransport(node, pty_link)
            device.pty.start()
        self.devices.append(device)
        return device

    def stop(self) -> None:
        for device in self.devices:
            if device.tcp:
                device.tcp.stop()
            if device.pty:
                device.pty.stop()
            device.node.leave()

"""The running node's key agent: a unix socket in the home that holds the key in memory only.

Why a socket to the node rather than the kernel keyring: the key then lives exactly as
long as the node process (a reboot, a crash or a panic forgets it; nothing lingers in a
session keyring after the node is gone), it needs no extra package (``keyutils`` is not
on a stock Raspberry Pi OS Lite), and the same channel carries ``unlock`` (a node that
booted locked waits for it) and ``panic`` (the node drops its key and stops).

Who may talk to it: the socket file is 0600 in a 0700 home, and every connection's peer
credentials (``SO_PEERCRED``) must be the node's own user or root.  Anyone who is that
user could read the node's memory anyway (ptrace), so the agent adds no new exposure.

Protocol: one line in, one line out.
``KEY``            -> ``OK <hex data key>`` or ``LOCKED``
``UNLOCK <hex>``   -> ``OK`` (the key opens this home) or ``NO``
``PANIC``          -> ``OK`` (the node shreds the home and stops)
``SEND <hex>``     -> ``OK``: broadcast a frame on every link (a signed panic frame for another node)
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

AGENT_FILE = "agent.sock"
MAX_LINE = 256
CLIENT_TIMEOUT_S = 2.0


def agent_path(home: Path) -> Path:
    return Path(home) / AGENT_FILE


def _peer_ok(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid in (os.getuid(), 0)


def _talk(home: Path, line: str, timeout: float = CLIENT_TIMEOUT_S) -> str | None:
    path = agent_path(home)
    if not path.exists():
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n") and len(data) < MAX_LINE:
                chunk = s.recv(MAX_LINE)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None  # no node behind a stale socket file
    return data.decode(errors="replace").strip()


def ask_running_node(home: Path) -> bytes | None:
    """The data key from a running, unlocked node of this home, or None."""
    reply = _talk(home, "KEY")
    if reply and reply.startswith("OK "):
        try:
            key = bytes.fromhex(reply[3:])
        except ValueError:
            return None
        return key if len(key) == 32 else None
    return None


def send_unlock(home: Path, data_key: bytes) -> str | None:
    """Hand the data key to a running node; its reply ("OK"/"NO"), or None when no node listens."""
    return _talk(home, f"UNLOCK {data_key.hex()}")


def send_panic(home: Path) -> bool:
    return _talk(home, "PANIC", timeout=1.0) == "OK"


class KeyAgent:
    """Serves the node's key to its own user's commands; takes ``unlock`` and ``panic``."""

    def __init__(self, home: Path, data_key: bytes | None, check: Callable[[bytes], bool],
                 on_panic: Callable[[], None], on_send: Callable[[bytes], bool] | None = None) -> None:
        self._on_send = on_send
        self.home = Path(home)
        self.path = agent_path(home)
        self._key = data_key
        self._check = check
        self._on_panic = on_panic
        self.unlocked = threading.Event()
        if data_key is not None:
            self.unlocked.set()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def key(self) -> bytes | None:
        return self._key

    def start(self) -> bool:
        """Listen; False when the path is too long for a unix socket (the node runs without an agent)."""
        self.path.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        except OSError:
            sock.close()
            return False
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        sock.listen(4)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="key-agent", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.path.unlink(missing_ok=True)
        self._key = None

    def _serve(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(CLIENT_TIMEOUT_S)
                    if not _peer_ok(conn):
                        continue
                    line = conn.recv(MAX_LINE).decode(errors="replace").strip()
                    conn.sendall(self._answer(line).encode() + b"\n")
                except OSError:
                    continue
                if line == "PANIC":
                    self._on_panic()

    def _answer(self, line: str) -> str:
        if line == "KEY":
            return f"OK {self._key.hex()}" if self._key is not None else "LOCKED"
        if line.startswith("UNLOCK "):
            try:
                key = bytes.fromhex(line[7:])
            except ValueError:
                return "NO"
            if len(key) != 32 or not self._check(key):
                return "NO"
            self._key = key
            self.unlocked.set()
            return "OK"
        if line == "PANIC":
            return "OK"
        if line.startswith("SEND ") and self._on_send is not None and self._key is not None:
            try:
                frame = bytes.fromhex(line[5:])
            except ValueError:
                return "NO"
            return "OK" if frame and self._on_send(frame) else "NO"
        return "NO"


def send_frame(home: Path, frame: bytes) -> bool:
    """Ask the running node of ``home`` to broadcast ``frame`` on its links."""
    return _talk(home, f"SEND {frame.hex()}") == "OK"

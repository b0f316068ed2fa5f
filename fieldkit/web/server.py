"""Running the web app: where it binds, uvicorn in the foreground or in a thread.

By default the server binds only to the node's own network: the address of the Wi-Fi
access point interface (hardware.md: ``wlan0`` at a fixed 10.42.0.1), else loopback.
Binding to every interface (0.0.0.0) must be asked for by giving that address.
"""

from __future__ import annotations

import fcntl
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from codec import FieldkitError
from fieldkit.home import Home

from .app import WebApp, build_app
from .node import WebNode
from .vendor import check_vendor

DEFAULT_PORT = 8080
AP_INTERFACE = "wlan0"  # hardware.md, "The Pi as a Wi-Fi access point"
SIOCGIFADDR = 0x8915  # <linux/sockios.h>


class WebError(FieldkitError):
    """The web server cannot start as asked."""


def interface_address(name: str) -> str | None:
    """The IPv4 address of interface ``name``, or None if it has none (Linux ioctl)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def default_host() -> str:
    return interface_address(AP_INTERFACE) or "127.0.0.1"


def allowed_hosts(host: str, port: int, names: list[str]) -> list[str]:
    """Host headers this server answers to; any other is redirected to it (captive portal, DNS rebinding)."""
    out = []
    for name in [host, *names]:
        out.append(f"{name}:{port}")
        if port == 80:
            out.append(name)
    if host in ("127.0.0.1", "0.0.0.0"):
        out += [f"localhost:{port}", f"127.0.0.1:{port}"]
    return out


def make_app(home: Home, host: str, port: int, names: list[str] | None = None,
             status: Callable[[], dict[str, Any]] | None = None,
             clock: Callable[[], float] = time.time) -> tuple[WebApp, Any]:
    check_vendor()
    node = WebNode(home, clock=clock, status=status)
    shown = names[0] if names else host
    base = f"http://{shown}" + ("" if port == 80 else f":{port}")
    web = WebApp(node, allowed_hosts(host, port, names or []), base)
    return web, build_app(web)


def config_for(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          timeout_graceful_shutdown=2, lifespan="off", ws="none")


def serve(home: Home, host: str, port: int, names: list[str] | None = None,
          ready: Callable[[str], None] | None = None, clock: Callable[[], float] = time.time) -> None:
    """Serve in the foreground until SIGTERM or Ctrl-C."""
    web, app = make_app(home, host, port, names, clock=clock)
    web.node.start()
    server = uvicorn.Server(config_for(app, host, port))
    if ready is not None:
        ready(web.base_url)
    try:
        server.run()
    finally:
        web.node.close()


class BackgroundServer:
    """The web app in a thread (for `node run --web`, `demo --web` and tests)."""

    def __init__(self, home: Home, host: str, port: int, names: list[str] | None = None,
                 status: Callable[[], dict[str, Any]] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.web, app = make_app(home, host, port, names, status, clock)
        self.server = uvicorn.Server(config_for(app, host, port))
        self.thread = threading.Thread(target=self.server.run, name="fieldkit-web", daemon=True)

    @property
    def url(self) -> str:
        return self.web.base_url

    def start(self, timeout: float = 15.0) -> None:
        self.web.node.start()
        self.thread.start()
        waited = 0.0
        while not self.server.started and waited < timeout and self.thread.is_alive():
            threading.Event().wait(0.05)
            waited += 0.05
        if not self.server.started:
            raise WebError(f"the web server did not start on {self.url}")
        logging.getLogger("fieldkit.web").info("web app at %s", self.url)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.web.node.close()

"""`fieldkit emulate`: emulated Meshtastic nodes for people, the official app and the CLI."""

from __future__ import annotations

import signal
import threading

import click

from fieldkit.cli.common import emit, json_option, now_option
from radio.air import InstantAir
from radio.emulator.server import EmulatorServer

FIRST_NODE_NUM = 0xFC000001  # an arbitrary block, unlikely to collide with real node numbers


@click.command()
@click.option("--nodes", "count", type=click.IntRange(1, 64), default=2, show_default=True, help="How many nodes.")
@click.option(
    "--tcp-port",
    "base_port",
    type=click.IntRange(0, 65535),
    default=4403,
    show_default=True,
    help="TCP port of the first node; the others take the next ports (0: any free ports).",
)
@click.option(
    "--listen",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 lets a phone's app connect (the API has no password).",
)
@click.option("--pty", "with_pty", is_flag=True, help="Also give each node a serial line on a pty.")
@json_option
@now_option
def emulate(count: int, base_port: int, listen: str, with_pty: bool, as_json: bool) -> None:
    """Run emulated Meshtastic nodes on an ideal shared air until Ctrl-C.

    Point `meshtastic --host 127.0.0.1:PORT`, the official app's TCP connection, or
    `fieldkit node run --link meshtastic:tcp:127.0.0.1:PORT` at them.
    """
    server = EmulatorServer(InstantAir())
    stop = threading.Event()
    try:
        for i in range(count):
            port = base_port + i if base_port else 0
            num = FIRST_NODE_NUM + i
            try:
                server.add_node(
                    num, f"fieldkit emulated {i + 1}", f"E{i + 1:03d}", tcp_port=port, pty=with_pty, host=listen
                )
            except OSError as exc:
                raise click.ClickException(f"cannot listen on {listen}:{port}: {exc.strerror}") from None
        nodes = [
            {
                "num": d.node.num,
                "id": f"!{d.node.num:08x}",
                "tcp": f"{d.tcp.host}:{d.tcp.port}" if d.tcp else None,
                "pty": d.pty.device if d.pty else None,
                "link": d.tcp_spec,
            }
            for d in server.devices
        ]

        def human() -> None:
            for n in nodes:
                line = f"{n['id']}  meshtastic --host {n['tcp']}"
                if n["pty"]:
                    line += f"   meshtastic --port {n['pty']}"
                click.echo(line)
            click.echo("Ctrl-C to stop")

        emit(as_json, {"nodes": nodes}, human)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()

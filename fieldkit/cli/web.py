"""`fieldkit web`: serve the web app for members' phones on the node's own network."""

from __future__ import annotations

import os
import time

import click

from fieldkit.cli.common import node_context, now_option


@click.command("web")
@click.option("--host", default=None, help="Address to bind (default: the Wi-Fi access point's, else 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8080).")
@click.option("--name", "names", multiple=True, help="Another host name phones use for the node (e.g. fieldkit.lan).")
@now_option
def web(host: str | None, port: int | None, names: tuple[str, ...]) -> None:
    """Serve the web app for members' phones (keys stay on the phones) until Ctrl-C."""
    from fieldkit.web.server import DEFAULT_PORT, default_host, serve

    ctx = node_context()
    home = ctx.home
    home.identity()
    offset = ctx.now - int(time.time()) if ctx.now_option else 0  # --now: the server's clock runs on from it
    bind = host or default_host()
    if bind in ("0.0.0.0", "::") and not os.environ.get("FIELDKIT_WEB_ANY_ADDRESS"):
        raise click.ClickException("binding to every interface exposes the app beyond the node's own network: "
                                   "give the access point's address, or set FIELDKIT_WEB_ANY_ADDRESS=1 to insist")
    serve(home, bind, port or DEFAULT_PORT, list(names), clock=lambda: time.time() + offset,
          ready=lambda url: click.echo(f"web app at {url}", err=True))

"""`fieldkit node run --link SPEC …`: the node service (CLI.md, "Moving entries between nodes")."""

from __future__ import annotations

import logging
import signal
import sys

import click

from fieldkit.cli.common import node_context, now_option
from fieldkit.home import Home, Locked, Unlocked, key_opens, unlock
from fieldkit.node.config import load_config
from fieldkit.node.linkspec import parse_link_spec
from fieldkit.node.redact import redact_handlers
from radio.sim.presets import REGIONS


@click.group("node")
def node_group() -> None:
    """The node service."""


@node_group.command("run")
@click.option("--link", "links", multiple=True, help="meshtastic:serial:PATH, meshtastic:tcp:HOST[:PORT] or sms:PATH.")
@click.option("--strict", is_flag=True, default=None, help="Exit if the only link cannot be opened.")
@click.option("--region", type=click.Choice(sorted(REGIONS)), help="LoRa region for airtime accounting.")
@click.option("--sync-interval", type=click.IntRange(5, 86400), help="Seconds between reconciliations with a peer.")
@click.option("-v", "--verbose", is_flag=True, help="Also log every frame sent and received.")
@click.option("--web", "with_web", is_flag=True, help="Also serve the web app for members' phones (`fieldkit web`).")
@click.option("--web-host", default=None, help="The web app's address (default: the Wi-Fi access point's).")
@click.option("--web-port", type=click.IntRange(1, 65535), default=None, help="The web app's port (default 8080).")
@now_option
def run(links: tuple[str, ...], strict: bool | None, region: str | None, sync_interval: int | None,
        verbose: bool, with_web: bool, web_host: str | None, web_port: int | None) -> None:
    """Run the node on its links until SIGTERM or Ctrl-C; settings from <home>/node.toml, flags win."""
    from fieldkit.node.runner import NodeRunner

    ctx = node_context()
    home = ctx.home
    config = load_config(home.path).with_overrides(
        links=links or None, strict=strict, region=region, sync_interval=sync_interval
    )
    for spec in config.links:
        parse_link_spec(spec)  # refuse a bad spec before anything starts
    if not config.links:
        raise click.ClickException("no links: give --link SPEC or set links in node.toml")
    logging.basicConfig(
        stream=sys.stderr, level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s",
    )
    logger = logging.getLogger("fieldkit.node")
    try:
        unlocked = ctx.unlocked()
    except Locked:
        unlocked = _wait_until_unlocked(home, logger)
    redact_handlers(unlocked.sealer)  # from here on, no phone number reaches the log
    if config.sms_peers:
        logger.warning("node.toml lists sms_peers in plain text: leave it empty and every paired node is used "
                       "(`fieldkit sms pair` keeps them sealed)")
    runner = NodeRunner(home, config, unlocked.keypair, logger)

    def stop(signum: int, _frame: object) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        runner.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    web = None
    try:
        runner.start()
        if with_web:  # in this process, with a store of its own (fieldkit/web/node.py says why)
            from fieldkit.web.nodestatus import RunnerStatus
            from fieldkit.web.server import DEFAULT_PORT, BackgroundServer, default_host

            status = RunnerStatus(runner)  # held here while the node runs (the bus holds it weakly)
            web = BackgroundServer(home, web_host or default_host(), web_port or DEFAULT_PORT, status=status)
            web.start()
            logger.info("web app at %s", web.url)
        runner.run()
    finally:
        if web is not None:
            web.stop()
        runner.stop()


def _wait_until_unlocked(home: Home, logger: logging.Logger) -> Unlocked:
    """A node that boots with no way to unlock (no terminal, no stick, no agent answer) waits locked.

    It listens on the key agent's socket for `fieldkit unlock` and looks for its key file's
    stick every second; nothing is opened or written until then.
    """
    import threading

    from fieldkit.keyagent import KeyAgent

    stop = threading.Event()
    agent = KeyAgent(home.path, None, lambda key: key_opens(home, key), stop.set)
    if not agent.start():
        raise click.ClickException(f"{home.path} is locked and its path is too long for `fieldkit unlock`")
    logger.warning("%s is locked: waiting for `fieldkit unlock` or the key file's stick", home.path)
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.is_set():
            if agent.unlocked.wait(1.0):
                return unlock(home, data_key=agent.key)
            opened = home.vault().open_without_secret()
            if opened is not None:
                return unlock(home)
    finally:
        agent.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    raise SystemExit(0)

"""`fieldkit node run --link SPEC …`: the node service (CLI.md, "Moving entries between nodes")."""

from __future__ import annotations

import logging
import signal
import sys

import click

from fieldkit.cli.common import node_context, now_option
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
@now_option
def run(links: tuple[str, ...], strict: bool | None, region: str | None, sync_interval: int | None,
        verbose: bool) -> None:
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
    unlocked = ctx.unlocked()
    redact_handlers(unlocked.sealer)  # from here on, no phone number reaches the log
    runner = NodeRunner(home, config, unlocked.keypair, logger)

    def stop(signum: int, _frame: object) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        runner.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        runner.start()
        runner.run()
    finally:
        runner.stop()

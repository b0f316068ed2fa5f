"""`fieldkit demo [--seed N] [--json]`: the whole story on simulated radios (CLI.md)."""

from __future__ import annotations

import click

from fieldkit.cli.common import emit, json_option, node_context, now_option
from fieldkit.timeparse import format_time

LEGEND = """links: radio = the simulated LoRa mesh (SHORT_FAST, EU_868: airtime, collisions, relays, duty cycle);
       radio (meshtastic) = an emulated Meshtastic device driven by the real meshtastic library over TCP,
       on the same simulated air; sms = an emulated GSM modem on a pty, driven by fieldkit's AT driver,
       and scripted basic phones; carried = a node carried across town by hand.
bytes and airtime are those of the action's own frame (one transmission); "mesh" lines sum the traffic since."""


@click.command()
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=1, show_default=True,
              help="The same seed gives the same story, digests and timeline.")
@click.option("--web", "with_web", is_flag=True,
              help="Then keep the demo's nodes running as homes with the web app, and print their addresses.")
@click.option("--web-port", type=click.IntRange(1, 65000), default=8080, show_default=True,
              help="The first node's port; the others follow.")
@click.option("--keep", "keep", type=click.Path(file_okay=False), default=None,
              help="With --web: the folder for the nodes' homes (default: a new temporary folder, kept).")
@json_option
@now_option
def demo(seed: int, as_json: bool, with_web: bool, web_port: int, keep: str | None) -> None:
    """Three assemblies on a simulated town mesh and basic phones: founding, votes, a mandate,
    an eviction alert, a cut link, a carried node, the merge, a council, the ledger."""
    from fieldkit.demo import run_demo
    from fieldkit.demo.summary import summary_table
    from fieldkit.scenario.world import DEFAULT_START

    ctx = node_context()
    start = ctx.now if ctx.now_option else DEFAULT_START  # --now moves the story; the default repeats
    running: list = []

    def go_on(story) -> None:
        import tempfile
        from pathlib import Path

        from fieldkit.web.demo import serve_demo
        from fieldkit.web.server import default_host

        folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="fieldkit-demo-web-"))
        running.append(serve_demo(story, folder, default_host(), web_port))
        running.append(folder)
        running.append(story.world.now)

    result = run_demo(seed, start, at_end=go_on if with_web else None)
    text = result.pop("timeline_text")
    wall = result.pop("wall_s")

    def human() -> None:
        click.echo(f"fieldkit demo, seed {seed}: simulated time from {format_time(start)}\n{LEGEND}\n")
        click.echo(text)
        click.echo("")
        click.echo(summary_table(result))
        click.echo(f"\n(ran in {wall} s of wall time)")

    emit(as_json, result, human)
    if running:
        _keep_serving(*running)


def _keep_serving(started, folder, story_end: int) -> None:
    """Print where each node's web app is and serve until Ctrl-C."""
    import signal
    import threading

    servers, exchange = started
    click.echo(f"\nthe demo's nodes go on as homes in {folder} (fieldkit --home {folder}/NAME ...):", err=True)
    for server in servers:
        click.echo(f"  {server.web.node.identity.name:<16} {server.url}", err=True)
    click.echo(f"their clocks run on from the story's end ({format_time(story_end)}): give CLI commands on these "
               f"homes --now {format_time(story_end)} or later", err=True)
    click.echo("open an address on a phone on this network; Ctrl-C stops", err=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()
        exchange.stop()

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
@json_option
@now_option
def demo(seed: int, as_json: bool) -> None:
    """Three assemblies on a simulated town mesh and basic phones: founding, votes, a mandate,
    an eviction alert, a cut link, a carried node, the merge, a council, the ledger."""
    from fieldkit.demo import run_demo
    from fieldkit.demo.summary import summary_table
    from fieldkit.scenario.world import DEFAULT_START

    ctx = node_context()
    start = ctx.now if ctx.now_option else DEFAULT_START  # --now moves the story; the default repeats
    result = run_demo(seed, start)
    text = result.pop("timeline_text")
    wall = result.pop("wall_s")

    def human() -> None:
        click.echo(f"fieldkit demo, seed {seed}: simulated time from {format_time(start)}\n{LEGEND}\n")
        click.echo(text)
        click.echo("")
        click.echo(summary_table(result))
        click.echo(f"\n(ran in {wall} s of wall time)")

    emit(as_json, result, human)

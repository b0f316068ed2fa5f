"""`fieldkit demo [--seed N] [--json]`: the whole story on simulated radios (CLI.md)."""

from __future__ import annotations

import click

from fieldkit.cli.common import emit, json_option, now_option


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

    result = run_demo(seed)
    text = result.pop("timeline_text")
    wall = result.pop("wall_s")

    def human() -> None:
        click.echo(f"fieldkit demo, seed {seed}: simulated time from 2026-11-30 00:00 UTC\n")
        click.echo(text)
        click.echo("")
        click.echo(summary_table(result))
        click.echo(f"\n(ran in {wall} s of wall time)")

    emit(as_json, result, human)

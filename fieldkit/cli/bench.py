"""`fieldkit bench wire|sync|ingest|sim|all`: measured figures, a table or --json."""

from __future__ import annotations

from collections.abc import Callable

import click

from fieldkit.bench import report
from fieldkit.cli.common import json_option, now_option


def _wire() -> list[report.Figure]:
    from fieldkit.bench import wire

    return wire.run()


def _sync() -> list[report.Figure]:
    from fieldkit.bench import sync

    return sync.run()


def _ingest() -> list[report.Figure]:
    from fieldkit.bench import ingest

    return ingest.run()


# name -> runner; a later issue adds sim here.
BENCHES: dict[str, Callable[[], list[report.Figure]]] = {"wire": _wire, "sync": _sync, "ingest": _ingest}


@click.command()
@click.argument("name", type=click.Choice([*BENCHES, "all"]))
@json_option
@now_option
def bench(name: str, as_json: bool) -> None:
    """Benchmarks: a table for people, --json for scripts."""
    names = list(BENCHES) if name == "all" else [name]
    results = [(n, BENCHES[n]()) for n in names]
    if as_json:
        if len(results) == 1:
            click.echo(report.render_json(*results[0]))
        else:
            import json

            click.echo(json.dumps([json.loads(report.render_json(n, f)) for n, f in results], indent=1))
    else:
        click.echo("\n\n".join(report.render_table(n, f) for n, f in results))

"""`fieldkit bench wire|sync|ingest|sim|…|all`: measured figures, a table or --json."""

from __future__ import annotations

import importlib
import json

import click

from fieldkit.bench import report
from fieldkit.cli.common import json_option, now_option

# Each name is a module of fieldkit.bench whose run() returns its figures; imported only when run.
BENCHES = ("wire", "ingest", "store", "sync", "sim", "mesh", "domain", "sms", "adversary", "web")
SIZED = ("ingest", "store")  # benches whose run() takes the number of entries, n
# `bench all` leaves out what takes many minutes: `mesh` simulates whole nodes for 8 hours
# and more (five seeds, two merges, 100 and 200 nodes).
LONG_BENCHES = ("mesh",)


def run_bench(name: str, n: int | None = None) -> list[report.Figure]:
    run = importlib.import_module(f"fieldkit.bench.{name}").run
    return run(n=n) if n is not None and name in SIZED else run()


@click.command()
@click.argument("name", type=click.Choice([*BENCHES, "all"]))
@click.option("--n", "n", type=click.IntRange(1000, 10_000_000), default=None,
              help="Entries for the ingest and store benches (default 100,000).")
@json_option
@now_option
def bench(name: str, n: int | None, as_json: bool) -> None:
    """Benchmarks: a table for people, --json for scripts."""
    names = [b for b in BENCHES if b not in LONG_BENCHES] if name == "all" else [name]
    results = [(b, run_bench(b, n)) for b in names]
    if not as_json:
        click.echo("\n\n".join(report.render_table(n, f) for n, f in results))
    elif len(results) == 1:
        click.echo(report.render_json(*results[0]))
    else:
        click.echo(json.dumps({"benches": [json.loads(report.render_json(n, f)) for n, f in results]}, indent=1))

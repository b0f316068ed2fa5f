"""`fieldkit drill co-optation|squeeze|partition [--seed N] [--json]`: stress tests on the simulator."""

from __future__ import annotations

import click

from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.drills import DRILLS, run_drill


@click.command()
@click.argument("name", type=click.Choice(list(DRILLS)))
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the simulated world (same seed, same run).")
@json_option
@now_option
@click.pass_context
def drill(ctx: click.Context, name: str, seed: int, as_json: bool) -> None:
    """Run a drill on the simulated mesh and report what held and what broke.

    \b
    co-optation  hostile acts (delegate beyond or after the mandate, double and proxy
                 votes, a mandate nobody decided, a dissolved council, late minutes,
                 a forged ballot) judged alike on every node across splits and heals
    squeeze      alert delivery and latency while nodes are lost, links cut, a radio's
                 duty cycle is spent and the SMS modem is gone
    partition    the mesh split for a simulated day while both sides decide, then
                 healed: converged digests and what the merge cost on the air

    The report (a table, or --json with `passed` and `findings`, each {check, expected,
    observed, ok}) always goes to stdout.  Exit status 0 when every check held; 1 when a
    check failed, with one line on stderr naming the first failed check.  The clock is
    virtual: --now does not change a drill.
    """
    report = run_drill(name, seed)
    emit(as_json, report.as_dict(), report.text())
    failed = report.failed
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        click.echo(f"drill {name} failed: {failed[0].check}: expected {failed[0].expected}, "
                   f"observed {failed[0].observed}{more}", err=True)
        ctx.exit(1)

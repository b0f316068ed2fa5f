"""Federation councils: convene, join, show, list, close (a council decision)."""

from __future__ import annotations

import click

from codec import kinds
from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import session, with_iso_times
from fieldkit.cli.humanize import assembly_name, clean, describe, late_lines, names, outcome_words, proposed, when, who
from fieldkit.cli.motions import motion_options, terms
from fieldkit.domain import actions, queries
from fieldkit.timeparse import parse_time


@click.group()
def council() -> None:
    """Time-bound federation councils of mandated delegates."""


@council.command("convene")
@click.option("--objective", required=True, help="The one objective of the council.")
@click.option("--until", required=True, help="When the council dissolves.")
@click.option("--assembly", "assemblies", multiple=True, required=True, help="A member assembly (two or more).")
@json_option
@now_option
def convene(objective: str, until: str, assemblies: tuple[str, ...], as_json: bool) -> None:
    """Convene a council (you need a live mandate from one of the assemblies)."""
    if len(assemblies) < 2:
        raise actions.ActionRefused("a council needs two or more assemblies: --assembly A --assembly B")
    with session() as s:
        ids = [s.find("assemblies", a, "assembly") for a in assemblies]
        entry = s.act(kinds.CouncilConvene(objective, parse_time(until, s.now), tuple(actions.ref(i) for i in ids)))
    emit(as_json, {"id": entry.id.hex()}, f"council convened: {entry.id.hex()}")


@council.command("join")
@click.argument("council_id", metavar="ID")
@json_option
@now_option
def join(council_id: str, as_json: bool) -> None:
    """Take part in a council as the mandated delegate of a member assembly."""
    with session() as s:
        entry = s.act(kinds.CouncilJoin(actions.ref(s.find("councils", council_id, "council"))))
    emit(as_json, {"id": entry.id.hex()}, f"joined: {entry.id.hex()}")


@council.command("show")
@click.argument("council_id", metavar="ID")
@json_option
@now_option
def show(council_id: str, as_json: bool) -> None:
    """A council: objective, member assemblies, delegates, open or closed and why."""
    with session() as s:
        cid = s.find("councils", council_id, "council")
        row = queries.council_show(s.state, cid, s.now)
        decisions = [queries.tally(s.state, pid, s.now) for pid, p in queries.by_time(s.state.proposals)
                     if p["target"] == cid]
        row["decision_list"] = decisions
        lines = [f"{clean(row['objective'])}  ({row['status']}{': ' + row['reason'] if row['reason'] else ''})",
                 f"convened by {who(s.state, row['convener'])}; "
                 + (f"dissolves by itself {when(row['until'])}" if row["open"]
                    else f"ended; end date {when(row['until'])}"),
                 f"assemblies: {', '.join(assembly_name(s.state, a) for a in row['assemblies'])}",
                 f"delegates: {names(s.state, row['participants'])}",
                 "decisions:" if decisions else "decisions: none yet"]
        for d in decisions:
            lines.append(f"  {d['id'][:12]}  {describe(s.state, d['id'])}")
            lines.append(f"                {outcome_words(d)}")
        lines += late_lines(s.state, row)

    def human() -> None:
        click.echo("\n".join(lines))

    emit(as_json, with_iso_times(row), human)


@council.command("list")
@json_option
@now_option
def list_(as_json: bool) -> None:
    """Every council this node knows."""
    with session() as s:
        rows = [queries.council_show(s.state, c, s.now) for c in sorted(s.state.councils)]
    emit(as_json, {"councils": with_iso_times(rows)},
         lambda: [click.echo(f"{r['id'][:12]}  {r['status']:<7} {clean(r['objective'])}") for r in rows])


@council.command("close")
@click.argument("council_id", metavar="ID")
@click.option("--reason", default="objective met", show_default=True, help="Why the objective is met.")
@motion_options
@json_option
@now_option
def close(council_id: str, reason: str, closes: str, quorum: int, threshold: str, as_json: bool) -> None:
    """Propose declaring the objective met (the council closes if it passes)."""
    with session() as s:
        cid = s.find("councils", council_id, "council")
        entry = s.act(kinds.ProposeCouncilClose(**terms(s, cid, closes, quorum, threshold), reason=reason))
        text = proposed(s.state, entry.id.hex())
    emit(as_json, {"id": entry.id.hex()}, text)

"""Proposals and ballots: propose, vote, tally, proposals."""

from __future__ import annotations

import click

from codec import kinds
from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import session, with_iso_times
from fieldkit.cli.humanize import describe, outcome_words
from fieldkit.cli.motions import DEFAULT_QUORUM, DEFAULT_THRESHOLD, terms
from fieldkit.domain import actions, queries


@click.command()
@click.argument("target_id", metavar="ASSEMBLY")
@click.argument("text")
@click.option("--option", "options", multiple=True, required=True, help="An option (give two or more).")
@click.option("--closes", required=True, help="When voting closes (ISO 8601 or +2h).")
@click.option("--quorum", type=click.IntRange(0, 100_000), default=DEFAULT_QUORUM, show_default=True,
              help="Minimum number of voters.")
@click.option("--threshold", default=DEFAULT_THRESHOLD, show_default=True,
              help="Fraction of ballots the leading option needs.")
@json_option
@now_option
def propose(target_id: str, text: str, options: tuple[str, ...], closes: str, quorum: int, threshold: str,
            as_json: bool) -> None:
    """Open a proposal in an assembly (or, by mandated delegates, in a council)."""
    if len(options) < 2:
        raise actions.ActionRefused("a proposal needs at least two options: --option A --option B")
    with session() as s:
        _, tid = s.target(target_id)
        entry = s.act(kinds.Proposal(**terms(s, tid, closes, quorum, threshold), options=options, text=text))
    emit(as_json, {"id": entry.id.hex()}, entry.id.hex())


@click.command()
@click.argument("proposal_id", metavar="PROPOSAL")
@click.argument("option")
@json_option
@now_option
def vote(proposal_id: str, option: str, as_json: bool) -> None:
    """Cast (or replace) this node's ballot before the close."""
    with session() as s:
        pid = s.find("proposals", proposal_id, "proposal")
        body = actions.ballot(s.state, pid, option)
        entry = s.act(body)
        chosen = s.state.proposals[pid]["options"][body.option]
    emit(as_json, {"id": entry.id.hex(), "proposal": pid, "option": chosen}, f"voted {chosen!r}: {entry.id.hex()}")


@click.command()
@click.argument("proposal_id", metavar="PROPOSAL")
@json_option
@now_option
def tally(proposal_id: str, as_json: bool) -> None:
    """Counts per option, quorum, and the outcome once closed."""
    with session() as s:
        pid = s.find("proposals", proposal_id, "proposal")
        row = queries.tally(s.state, pid, s.now)
        ballots = [b["id"] for b in s.state.proposals[pid]["ballots"].values()]
        row["late_ballots"] = sorted(s.late(ballots))
        what = describe(s.state, pid)
        row["what"] = what

    def human() -> None:
        click.echo(what)
        for option, n in row["counts"].items():
            click.echo(f"  {option}: {n}")
        click.echo(f"voters {row['voters']}, quorum {row['quorum']} {'met' if row['quorum_met'] else 'not met'}")
        click.echo(outcome_words(row))
        for b in row["late_ballots"]:
            click.echo(f"warning: ballot {b[:12]} reached this node over an hour away from the time it claims")

    emit(as_json, with_iso_times(row), human)


@click.command()
@json_option
@now_option
def proposals(as_json: bool) -> None:
    """Every proposal and motion with its current tally."""
    with session() as s:
        rows = queries.proposal_list(s.state, s.now)
        for r in rows:
            r["what"] = describe(s.state, r["id"])
        lines = [f"{r['id'][:12]}  {describe(s.state, r['id'])}\n              {outcome_words(r)}" for r in rows]
    emit(as_json, {"proposals": with_iso_times(rows)}, "\n".join(lines) if lines else "no proposal yet")

"""Proposals and ballots: propose, vote, tally, proposals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from codec import kinds
from fieldkit import nodestore
from fieldkit.cli.common import emit, emit_rows, json_option, node_context, now_option
from fieldkit.cli.domain_common import Session, session, with_iso_times
from fieldkit.cli.humanize import describe, outcome_words
from fieldkit.cli.motions import terms
from fieldkit.domain import actions, queries
from fieldkit.domain.state import kid


@click.command()
@click.argument("target_id", metavar="ASSEMBLY")
@click.argument("text")
@click.option("--option", "options", multiple=True, required=True, help="An option (give two or more).")
@click.option("--closes", required=True, help="When voting closes (ISO 8601 or +2h).")
@click.option("--quorum", type=click.IntRange(1, 100_000), default=None,
              help="Minimum number of voters (default: the constitution's floor).")
@click.option("--threshold", default=None,
              help="Share of ballots the leading option needs: 0.5, 0.66 or 66% (default: the constitution's floor).")
@json_option
@now_option
def propose(target_id: str, text: str, options: tuple[str, ...], closes: str, quorum: int | None,
            threshold: str | None, as_json: bool) -> None:
    """Open a proposal in an assembly (or, by mandated delegates, in a council)."""
    if len(options) < 2:
        raise actions.ActionRefused("a proposal needs at least two options: --option A --option B")
    seen: set[str] = set()
    for option in options:
        if option.strip().casefold() in seen:
            raise actions.ActionRefused(f"option {option!r} is given twice: give each option once")
        seen.add(option.strip().casefold())
    with session() as s:
        _, tid = s.target(target_id)
        entry = s.act(kinds.Proposal(**terms(s, tid, closes, quorum, threshold), options=options, text=text))
        seal_due(s)
    emit(as_json, {"id": entry.id.hex()}, entry.id.hex())


def seal_due(s: Session) -> list[str]:
    """Seal every proposal that closed (within 30 days) and this node's key has not sealed yet.

    A seal lists the ballots this node had first received before the close; ballots no
    other member's node sealed are late (see fieldkit/domain/rules_seals.py).  Deadlines
    other than closes are sealed too (``seal_deadlines``)."""
    sealed = [pid for pid, _ in nodestore.seal_closes(s.store, node_context().keypair(), lambda: s.state, s.now)]
    seal_deadlines(s, SEALS_PER_COMMAND)
    return sealed


# A command that writes (vote, propose) signs at most this many deadline seals by the way,
# the earliest due first: a node back after weeks away must not stall a vote behind a
# backlog (`fieldkit seal`, and a running node every 10 minutes, sign them all).
SEALS_PER_COMMAND = 8
FORGET_EVERY = 256  # proposals listed between drops of the rows their tallies read


def seal_deadlines(s: Session, limit: int | None = None) -> list[dict[str, object]]:
    """Seal every other deadline passed within 30 days (a mandate's expiry or report-due
    moment, a council's end, an alert's expiry, a campaign cycle's or role term's end): the
    acts on its object this node held before it (fieldkit/domain/rules_deadlines.py).
    Deadlines two other members' nodes already sealed with everything this node held are
    skipped (no evidence to add, only airtime)."""
    done = nodestore.seal_deadlines(s.store, node_context().keypair(), lambda: s.state, s.now, limit)
    return [{"object": oid, "deadline": deadline} for (oid, deadline), _ in done]


@click.command()
@click.argument("proposal_id", metavar="PROPOSAL", required=False)
@json_option
@now_option
def seal(proposal_id: str | None, as_json: bool) -> None:
    """Seal closed proposals and passed deadlines: sign what this node held by then.

    Run it (or any command that writes) after a close on every member's node; a running
    node does it by itself.  Ballots that no other member's node sealed are shown by
    `tally` as late and do not count; so are reports, council acts, alert answers,
    campaign acts and minutes dated before a deadline that other members' nodes sealed
    without them (`mandate show`, `council show`, `alert show`, `campaign show`)."""
    with session() as s:
        if proposal_id is not None:
            pid = s.find("proposals", proposal_id, "proposal")
            me = kid(node_context().keypair().public_key)
            if pid not in actions.due_seals(s.state, me, s.now):
                p = s.state.proposals[pid]
                why = ("it has not closed yet" if s.now < p["closes"] else
                       "this node already sealed it" if me in p.get("seals", {}) else
                       "this node's key is not a member of its assembly, or it closed over 30 days ago")
                raise actions.ActionRefused(f"nothing to seal for proposal {pid[:12]}: {why}")
            s.act(actions.seal_body(s.state, pid, nodestore.first_seen(s.store)))
            sealed = [pid]
            deadlines: list[dict[str, object]] = []
        else:
            deadlines = seal_deadlines(s)  # first: seal_due would seal them too, unreported
            sealed = seal_due(s)
    lines = [f"sealed {p}" for p in sealed] + [f"sealed the deadline {d['deadline']} of {d['object']}"
                                               for d in deadlines]
    emit(as_json, {"sealed": sealed, "deadlines": deadlines}, "\n".join(lines) or "nothing to seal")


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
        seal_due(s)
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
        for b in row["late"]:
            click.echo(f"late: ballot {b['id'][:12]} by {b['voter']} for {b['option']!r}: {b['judged']}")
        if row["contested"]:
            click.echo("CONTESTED: counting the late ballots would change the outcome")

    emit(as_json, with_iso_times(row), human)


@click.command()
@json_option
@now_option
def proposals(as_json: bool) -> None:
    """Every proposal and motion with its current tally."""
    with session() as s:
        state = s.state
        forget = getattr(s.store.view("domain"), "forget_rows", None)

        def rows() -> Iterator[dict[str, Any]]:  # one tally at a time: years of proposals are thousands
            for n, row in enumerate(queries.proposal_rows(state, s.now), 1):
                row["what"] = describe(state, row["id"])
                yield with_iso_times(row) if as_json else row
                if n % FORGET_EVERY == 0 and forget is not None:
                    forget()  # the rows these tallies read: a read holds a bounded number of them

        emit_rows(as_json, rows(), lambda r: f"{r['id'][:12]}  {r['what']}\n              {outcome_words(r)}",
                  key="proposals", empty="no proposal yet")

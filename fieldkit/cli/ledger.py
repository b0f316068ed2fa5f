"""The sovereignty ledger (add, witness, list, review) and public minutes (add, list)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from codec import kinds
from fieldkit.cli.common import emit, emit_rows, json_option, now_option
from fieldkit.cli.domain_common import session, with_iso_times
from fieldkit.cli.humanize import clean, duration, names, readable, when, who
from fieldkit.domain import actions, queries
from fieldkit.domain.state import kid
from fieldkit.domain.timeflags import lateness_at
from fieldkit.nodestore import first_seen


@click.group()
def ledger() -> None:
    """Functions the assemblies have taken over, with witnesses."""


@ledger.command("add")
@click.argument("assembly_id", metavar="ASSEMBLY")
@click.argument("text")
@click.option("--domain", required=True, help="housing, food, economic, justice, care, energy, communications...")
@json_option
@now_option
def add(assembly_id: str, text: str, domain: str, as_json: bool) -> None:
    """Record a ledger entry."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        entry = s.act(kinds.LedgerEntry(actions.ref(aid), domain, text))
    emit(as_json, {"id": entry.id.hex()}, f"ledger entry: {entry.id.hex()}")


@ledger.command("witness")
@click.argument("entry_id", metavar="ID")
@json_option
@now_option
def witness(entry_id: str, as_json: bool) -> None:
    """Co-sign a ledger entry as a witness."""
    with session() as s:
        lid = s.find("ledger", entry_id, "ledger entry")
        entry = s.act(kinds.LedgerWitness(actions.ref(lid)))
    emit(as_json, {"id": entry.id.hex(), "entry": lid}, f"witnessed: {entry.id.hex()}")


@ledger.command("list")
@json_option
@now_option
def list_(as_json: bool) -> None:
    """Every ledger entry with its witnesses."""
    with session() as s:
        state = s.state
        emit_rows(as_json, (with_iso_times(r) if as_json else r for r in queries.ledger_rows(state, s.now)),
                  lambda r: f"{r['id'][:12]}  {when(r['time'])}  {clean(r['domain'])}: {clean(r['text'])}\n"
                            f"              by {who(state, r['author'])}; witnessed by "
                            f"{names(state, [w['key'] for w in r['witnesses']])}"
                            + (f"; objective of campaign {r['campaign'][:12]}" if r.get("campaign") else ""),
                  key="entries", empty="no ledger entry yet")


@ledger.command("review")
@click.option("--assembly", "assembly_id", default=None, help="Only this assembly.")
@json_option
@now_option
def review(assembly_id: str | None, as_json: bool) -> None:
    """Entries per month and per domain; warns after 30 days with no entry."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly") if assembly_id else None
        row = queries.ledger_review(s.state, s.now, aid)

    def human() -> None:
        click.echo(f"{row['entries']} entries")
        for month, n in row["per_month"].items():
            click.echo(f"  {month}: {n}")
        for domain, n in row["per_domain"].items():
            click.echo(f"  {domain}: {n}")
        for w in row["warnings"]:
            click.echo(f"warning: {w}")

    emit(as_json, row, human)


@click.group()
def minutes() -> None:
    """Public minutes, signed by the current facilitator."""


@minutes.command("add")
@click.argument("assembly_id", metavar="ASSEMBLY")
@click.argument("text")
@json_option
@now_option
def minutes_add(assembly_id: str, text: str, as_json: bool) -> None:
    """Publish minutes (only the current facilitator's count)."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        entry = s.act(kinds.Minutes(actions.ref(aid), text))
    emit(as_json, {"id": entry.id.hex()}, f"minutes: {entry.id.hex()}")


@minutes.command("list")
@click.option("--assembly", "assembly_id", default=None, help="Only this assembly.")
@json_option
@now_option
def minutes_list(assembly_id: str | None, as_json: bool) -> None:
    """Counted minutes, oldest first."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly") if assembly_id else None
        state = s.state
        rows = queries.minutes_rows(state, s.now, aid)
        emit_rows(as_json, (with_iso_times(r) if as_json else r for r in rows),
                  lambda r: f"{r['id'][:12]}  {when(r['time'])}  by {who(state, r['author'])}"
                            + (f" (debrief of campaign {r['campaign'][:12]})" if r.get("campaign") else "")
                            + f"\n{clean(r['text'], oneline=False)}\n",
                  key="minutes", empty="no minutes yet")


@click.command()
@click.option("--refused", is_flag=True, help="Only entries that do not count.")
@json_option
@now_option
def verdicts(refused: bool, as_json: bool) -> None:
    """Every entry's verdict (counted, refused or waiting, and why), with late-arrival flags."""
    with session() as s:
        seen, state = first_seen(s.store), s.state

        def rows() -> Iterator[dict[str, Any]]:
            for row in queries.records(state.entries, None, (lambda v: v["verdict"] != "counted") if refused else None):
                # the late flag from its claimed time and when we first saw it, row by row
                yield {**row, "late_s": lateness_at(row["time"], seen(bytes.fromhex(row["id"])))}
            for held in queries.held_future(state, s.now):  # far-future entries, held until their time
                e = s.store.get(bytes.fromhex(held["id"]))
                yield {**held, "kind": e.kind.label if e else "?", "author": kid(e.author) if e else "?",
                       "late_s": None}

        emit_rows(as_json, (with_iso_times(r) for r in rows()) if as_json else rows(),
                  lambda r: f"{r['id'][:12]}  {r['kind']:<22} {readable(r['verdict'])}" + _time_flag(r["late_s"]),
                  key="entries")


def _time_flag(late_s: int | None) -> str:
    if late_s is None:
        return ""
    if late_s > 0:
        return f"  [arrived {duration(late_s)} after the time it claims]"
    return f"  [claims a time {duration(-late_s)} after it arrived]"

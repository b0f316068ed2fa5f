"""Alerts: raise, ack, resolve, list — and who is coming."""

from __future__ import annotations

import click

from codec import kinds
from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import session, with_iso_times
from fieldkit.cli.humanize import clean, duration, late_lines, names, relative, when, who
from fieldkit.domain import actions, queries
from fieldkit.domain.state import kid
from fieldkit.timeparse import parse_time

DEFAULT_EXPIRES = "+6h"  # an eviction defense is over within hours


@click.group()
def alert() -> None:
    """Urgent calls and the responders on their way."""


@alert.command("raise")
@click.argument("assembly_id", metavar="ASSEMBLY")
@click.argument("text")
@click.option("--expires", default=DEFAULT_EXPIRES, show_default=True, help="When the alert lapses.")
@json_option
@now_option
def raise_(assembly_id: str, text: str, expires: str, as_json: bool) -> None:
    """Raise an alert for an assembly."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        until = parse_time(expires, s.now)
        if until <= s.now:
            raise actions.ActionRefused("the alert must expire in the future: --expires +2h")
        entry = s.act(kinds.AlertRaise(actions.ref(aid), until, text))
    emit(as_json, {"id": entry.id.hex()}, f"alert raised: {entry.id.hex()}")


@alert.command("ack")
@click.argument("alert_id", metavar="ID")
@click.option("--not-coming", is_flag=True, help="Answer that you are not coming.")
@click.option("--eta", type=click.IntRange(0, 24 * 60), default=None, help="Coming, in this many minutes.")
@json_option
@now_option
def ack(alert_id: str, not_coming: bool, eta: int | None, as_json: bool) -> None:
    """Answer an alert: coming (default), --not-coming, or --eta MINUTES."""
    if not_coming and eta is not None:
        raise actions.ActionRefused("give either --not-coming or --eta, not both")
    with session() as s:
        lid = s.find("alerts", alert_id, "alert")
        entry = s.act(actions.ack(lid, "not-coming" if not_coming else "coming", eta))
    emit(as_json, {"id": entry.id.hex(), "alert": lid}, f"answered: {entry.id.hex()}")


@alert.command("resolve")
@click.argument("alert_id", metavar="ID")
@click.option("--note", default="", help="What happened.")
@json_option
@now_option
def resolve(alert_id: str, note: str, as_json: bool) -> None:
    """Mark an alert resolved."""
    with session() as s:
        lid = s.find("alerts", alert_id, "alert")
        entry = s.act(kinds.AlertResolve(actions.ref(lid), note))
    emit(as_json, {"id": entry.id.hex()}, f"resolved: {entry.id.hex()}")


@alert.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved and expired alerts.")
@json_option
@now_option
def list_(show_all: bool, as_json: bool) -> None:
    """Alerts with who is coming."""
    with session() as s:
        rows = queries.alert_list(s.state, s.now) if show_all else queries.open_alerts(s.state, s.now)
        rows += _held_aside(s)
        # the text is made for a person only (names are looked up member by member)
        lines = [] if as_json else [line for r in rows for line in alert_lines(s.state, r, s.now)]

    def human() -> None:
        click.echo("\n".join(lines) if lines else "no open alerts")

    emit(as_json, {"alerts": with_iso_times(rows)}, human)


def alert_lines(state, r: dict, now: int) -> list[str]:
    """An alert for people: the whole text (the address is never cut), who raised it and
    when, who is coming and when they expect to arrive."""
    status = {"open": f"open, lapses {when(r['expires'])}", "unconfirmed": "unconfirmed (not yet verified in order)"}
    out = [f"{r['id'][:12]}  {status.get(r['status'], r['status'])}",
           f"    {clean(r['text'])}",
           f"    raised by {who(state, r['author'])} at {when(r['time'])} ({relative(r['time'], now)})"]
    etas = r.get("eta_minutes", {})
    coming = [f"{who(state, k)}" + (f" in {duration(etas[k] * 60)} (by {when(_acked(r, k, etas))})"
                                    if k in etas else "") for k in r["coming"]]
    out.append(f"    coming ({len(coming)}): {'; '.join(coming)}" if coming else "    nobody has answered coming yet")
    if r["not_coming"]:
        out.append(f"    not coming: {names(state, r['not_coming'])}")
    if r.get("resolved"):
        note = f": {clean(r['resolved']['note'])}" if r["resolved"].get("note") else ""
        out.append(f"    resolved by {who(state, r['resolved']['by'])} at {when(r['resolved']['time'])}{note}")
    return out + late_lines(state, r, "    ")


def _acked(r: dict, key: str, etas: dict) -> int:
    return int(r.get("ack_times", {}).get(key, r["time"])) + etas[key] * 60


def _held_aside(s) -> list[dict]:
    """Alerts verified but kept aside by the store (their author's earlier entries are
    missing): shown at once as ``unconfirmed``, since an alert cannot wait for the chain."""
    out = []
    for e in s.store.pending_entries():
        if isinstance(e.body, kinds.AlertRaise) and e.time <= s.now < e.body.expires:
            aid = next((a for a in s.state.assemblies if a.startswith(e.body.assembly.hex())), None)
            out.append({"id": e.id.hex(), "assembly": aid, "author": kid(e.author), "time": e.time,
                        "expires": e.body.expires, "text": e.body.text, "status": "unconfirmed",
                        "coming": [], "not_coming": [], "eta_minutes": {}, "resolved": None})
    return out

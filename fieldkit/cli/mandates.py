"""Mandates: issue (a proposal), list, show, report, recall, renew."""

from __future__ import annotations

import click

from codec import kinds
from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import session, with_iso_times
from fieldkit.cli.motions import motion_options, terms
from fieldkit.domain import actions, queries
from fieldkit.timeparse import parse_duration, parse_time


@click.group()
def mandate() -> None:
    """Written mandates for delegates: scope, expiry, report-back."""


@mandate.command("issue")
@click.argument("assembly_id", metavar="ASSEMBLY")
@click.argument("delegate")
@click.option("--scope", required=True, help="What the delegate may do, in writing.")
@click.option("--expires", required=True, help="When the mandate ends by itself.")
@click.option("--report-every", required=True, help="Report-back interval (7d); 0 for none.")
@motion_options
@json_option
@now_option
def issue(assembly_id: str, delegate: str, scope: str, expires: str, report_every: str, closes: str,
          quorum: int, threshold: str, as_json: bool) -> None:
    """Propose a mandate; it is live once that proposal passes."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        kid, _ = actions.member_key(s.state, delegate)
        every = 0 if report_every.strip() == "0" else parse_duration(report_every)
        entry = s.act(kinds.ProposeMandate(**terms(s, aid, closes, quorum, threshold), delegate=kid, scope=scope,
                                           expires=parse_time(expires, s.now), report_every=every))
    emit(as_json, {"id": entry.id.hex(), "status": "proposed"},
         f"mandate proposed: {entry.id.hex()}\n"
         f"it is live once the proposal passes (fieldkit vote {entry.id.hex()[:12]} yes)")


def _show_human(row: dict) -> None:
    click.echo(f"{row['id'][:12]}  {row['status']:<9} delegate {row['delegate']}  {row['scope'][:60]}")


@mandate.command("list")
@json_option
@now_option
def list_(as_json: bool) -> None:
    """Every mandate and its status now."""
    with session() as s:
        rows = queries.mandate_list(s.state, s.now)
    emit(as_json, {"mandates": with_iso_times(rows)}, lambda: [_show_human(r) for r in rows])


@mandate.command("show")
@click.argument("mandate_id", metavar="ID")
@json_option
@now_option
def show(mandate_id: str, as_json: bool) -> None:
    """A mandate: status (proposed, live, review, expired, recalled), scope, report-back."""
    with session() as s:
        row = queries.mandate_show(s.state, _find(s, mandate_id), s.now)

    def human() -> None:
        _show_human(row)
        click.echo(f"{row['detail']}")
        if row["report_due"]:
            click.echo(f"next report due {with_iso_times({'time': row['report_due']})['time']}")

    emit(as_json, with_iso_times(row), human)


def _find(s, mandate_id: str) -> str:
    mid = s.find("proposals", mandate_id, "mandate")
    if s.state.proposals[mid]["kind"] != "propose_mandate":
        raise actions.UnknownId(f"{mandate_id!r} is a proposal, not a mandate: see fieldkit mandate list")
    return mid


@mandate.command("report")
@click.argument("mandate_id", metavar="ID")
@click.argument("text")
@json_option
@now_option
def report(mandate_id: str, text: str, as_json: bool) -> None:
    """Report back (the delegate): resets the report-back clock."""
    with session() as s:
        mid = _find(s, mandate_id)
        entry = s.act(kinds.MandateReport(actions.ref(mid), text))
    emit(as_json, {"id": entry.id.hex()}, f"reported: {entry.id.hex()}")


@mandate.command("recall")
@click.argument("mandate_id", metavar="ID")
@click.option("--reason", default="", help="Why.")
@motion_options
@json_option
@now_option
def recall(mandate_id: str, reason: str, closes: str, quorum: int, threshold: str, as_json: bool) -> None:
    """Propose recalling a mandate (takes effect if the proposal passes)."""
    with session() as s:
        mid = _find(s, mandate_id)
        aid = s.state.proposals[mid]["target"]
        entry = s.act(kinds.ProposeRecall(**terms(s, aid, closes, quorum, threshold), mandate=actions.ref(mid),
                                          reason=reason))
    emit(as_json, {"id": entry.id.hex()}, f"recall proposed: {entry.id.hex()}")


@mandate.command("renew")
@click.argument("mandate_id", metavar="ID")
@click.option("--expires", required=True, help="The new end of the mandate.")
@motion_options
@json_option
@now_option
def renew(mandate_id: str, expires: str, closes: str, quorum: int, threshold: str, as_json: bool) -> None:
    """Propose renewing a mandate until a new expiry (takes effect if the proposal passes)."""
    with session() as s:
        mid = _find(s, mandate_id)
        aid = s.state.proposals[mid]["target"]
        entry = s.act(kinds.ProposeRenew(**terms(s, aid, closes, quorum, threshold), mandate=actions.ref(mid),
                                         expires=parse_time(expires, s.now)))
    emit(as_json, {"id": entry.id.hex()}, f"renewal proposed: {entry.id.hex()}")

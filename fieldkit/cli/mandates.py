"""Mandates: issue (a proposal), list, show, report, recall, renew."""

from __future__ import annotations

import click

from codec import kinds
from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import session, with_iso_times
from fieldkit.cli.humanize import clean, duration, late_lines, proposed, relative, when, who
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
        text = proposed(s.state, entry.id.hex())
    emit(as_json, {"id": entry.id.hex(), "status": "proposed"}, text)


def _line(state, row: dict) -> str:
    return f"{row['id'][:12]}  {row['status']:<9} {who(state, row['delegate'])}: {clean(row['scope'])}"


STATUS_WORDS = {
    "proposed": "under vote until {closes}",
    "rejected": "the proposal did not pass",
    "live": "live until {expires}",
    "review": "in review: the report-back was due {due}; a report by the delegate brings it back to live",
    "expired": "expired {expires}",
    "recalled": "recalled",
}


def status_words(row: dict) -> str:
    """The status in words with readable times (the judge's detail carries epoch seconds)."""
    due = when(row["report_due"]) if row.get("report_due") else "earlier"
    words = STATUS_WORDS.get(row["status"], row["status"]).format(
        closes=when(row["closes"]), expires=when(row["expires"]), due=due)
    if row["status"] == "recalled" and "no longer a member" in row["detail"]:
        words += ": the delegate is no longer a member"
    elif row["status"] == "recalled":
        words += " by decision " + row["detail"].rsplit(" ", 1)[-1]
    return words


@mandate.command("list")
@json_option
@now_option
def list_(as_json: bool) -> None:
    """Every mandate and its status now."""
    with session() as s:
        rows = queries.mandate_list(s.state, s.now)
        lines = [_line(s.state, r) for r in rows]
    emit(as_json, {"mandates": with_iso_times(rows)}, "\n".join(lines) if lines else "no mandate yet")


@mandate.command("show")
@click.argument("mandate_id", metavar="ID")
@json_option
@now_option
def show(mandate_id: str, as_json: bool) -> None:
    """A mandate: status (proposed, live, review, expired, recalled), scope, report-back."""
    with session() as s:
        row = queries.mandate_show(s.state, _find(s, mandate_id), s.now)
        lines = [_line(s.state, row), status_words(row)]
        if row["report_every"]:
            lines.append(f"reports back every {duration(row['report_every'])}"
                         + (f"; next report due {when(row['report_due'])} ({relative(row['report_due'], s.now)})"
                            if row["report_due"] else ""))
        lines.append(f"reports ({len(row['report_texts'])}):" if row["report_texts"] else "no report yet")
        lines += [f"  {when(r['time'])}: {clean(r['text'])}" for r in row["report_texts"]]
        lines += late_lines(s.state, row)

    def human() -> None:
        click.echo("\n".join(lines))

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
    emit(as_json, {"id": entry.id.hex()}, f"reported on mandate {mid[:12]}: {entry.id.hex()}\n{text}")


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
        text = proposed(s.state, entry.id.hex())
    emit(as_json, {"id": entry.id.hex()}, text)


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
        text = proposed(s.state, entry.id.hex())
    emit(as_json, {"id": entry.id.hex()}, text)

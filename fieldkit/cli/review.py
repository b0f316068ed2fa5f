"""`fieldkit review ASSEMBLY`: the assembly's health review, as text or --json."""

from __future__ import annotations

import click

from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import session
from fieldkit.cli.humanize import when, who
from fieldkit.domain import review as health
from fieldkit.domain.state import State
from fieldkit.timeparse import BadTime, format_time, parse_duration, parse_time


@click.command("review")
@click.argument("assembly_id", metavar="ASSEMBLY")
@click.option("--since", default=None, help="Start of the window: a time (ISO 8601) or a span back from now "
              "(90d, 12w); default: the assembly's founding.")
@json_option
@now_option
def review(assembly_id: str, since: str | None, as_json: bool) -> None:
    """Signals that hierarchy is creeping in: rotation, concentration, report-backs, councils,
    participation, small-share decisions, the sovereignty ledger's rate and gaps."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        start = _since(since, s.now) if since else None
        result = health.review(s.state, aid, s.now, start)
        lines = text(s.state, result)
    data = result.as_dict()
    data["since"], data["now"] = format_time(result.since), format_time(result.now)
    emit(as_json, data, "\n".join(lines))


def _since(text_: str, now: int) -> int:
    try:
        return now - parse_duration(text_)
    except BadTime:
        return parse_time(text_, now)


def text(state: State, r: health.Review) -> list[str]:
    out = [f"health review of {r.name} ({r.assembly[:12]}), {r.members} members",
           f"from {when(r.since)} to {when(r.now)}", ""]
    for sig in r.signals:
        mark = "WARNING" if sig.flagged else "ok     "
        out.append(f"{mark} {sig.title}: {sig.value} (threshold: {sig.threshold})")
        if sig.flagged:
            out.append(f"        {sig.warning}")
            if sig.entries:
                out.append("        entries: " + ", ".join(e[:12] for e in sig.entries[:12])
                           + (f" and {len(sig.entries) - 12} more" if len(sig.entries) > 12 else ""))
    if r.posts_per_person:
        out.append("")
        out.append("roles and mandates per person:")
        for key, n in sorted(r.posts_per_person.items(), key=lambda kv: -(kv[1]["roles"] + kv[1]["mandates"])):
            out.append(f"  {who(state, key)}: {n['roles']} role terms, {n['mandates']} mandates")
    if r.posts_per_month:
        out.append("roles and mandates taken up, month by month:")
        for month, people in r.posts_per_month.items():
            out.append(f"  {month}: " + ", ".join(f"{who(state, k)} {n}" for k, n in sorted(
                people.items(), key=lambda kv: -kv[1])))
    if r.ledger_per_month:
        out.append("sovereignty ledger entries per month: "
                   + ", ".join(f"{m}: {n}" for m, n in r.ledger_per_month.items()))
    out.append("")
    out.append(f"{len(r.flagged)} warning{'s' if len(r.flagged) != 1 else ''}" if r.flagged
               else "no warning: rotation kept, reports kept, decisions shared, the ledger growing")
    return out

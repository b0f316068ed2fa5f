"""Campaigns in lunar cycles: plan, renew, list, show, report, debrief."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from codec import Kind, kinds
from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import Session, session, with_iso_times
from fieldkit.cli.humanize import assembly_name, clean, duration, late_lines, when, who
from fieldkit.cli.motions import motion_options, terms
from fieldkit.domain import actions, campaigns, lunar, queries
from fieldkit.timeparse import format_time

TIME_FIELDS = {"new", "first_quarter", "full", "last_quarter", "ends", "start", "end"}


def iso(value: Any) -> Any:
    """with_iso_times, plus the moments of a lunar cycle."""
    if isinstance(value, dict):
        return with_iso_times({k: format_time(v) if k in TIME_FIELDS and isinstance(v, int) else iso(v)
                               for k, v in value.items()})
    if isinstance(value, list):
        return [iso(v) for v in value]
    return value


@click.group()
def campaign() -> None:
    """Campaigns laid on the lunar cycle: surge, crest, pause, debrief; renew or end."""


def _cycle_body(cycle: lunar.Cycle) -> dict[str, int]:
    return {"new_moon": cycle.new, "first_quarter": cycle.first_quarter, "full_moon": cycle.full,
            "last_quarter": cycle.last_quarter, "ends": cycle.next_new}


def _cycle_words(cycle: lunar.Cycle) -> str:
    return (f"surge from the new moon {when(cycle.new)}, crest by the full moon {when(cycle.full)}, "
            f"pause and debrief until the next new moon {when(cycle.next_new)}")


@campaign.command("plan")
@click.argument("assembly_id", metavar="ASSEMBLY")
@click.argument("objective")
@motion_options
@json_option
@now_option
def plan(assembly_id: str, objective: str, closes: str, quorum: int, threshold: str, as_json: bool) -> None:
    """Propose a campaign for one objective, on the first lunar cycle after the decision closes."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        t = terms(s, aid, closes, quorum, threshold, Kind.PROPOSE_CAMPAIGN)
        cycle = lunar.next_cycle(t["closes"])
        entry = s.act(kinds.ProposeCampaign(**t, **_cycle_body(cycle), objective=objective))
    eid = entry.id.hex()
    emit(as_json, {"id": eid, "status": "proposed", "cycle": iso(_cycle_json(cycle))},
         f"campaign proposed: {eid}\n{clean(objective)}\n{_cycle_words(cycle)}\n"
         f"it runs once the proposal passes (fieldkit vote {eid[:12]} yes)")


def _cycle_json(cycle: lunar.Cycle) -> dict[str, int]:
    return {"new": cycle.new, "first_quarter": cycle.first_quarter, "full": cycle.full,
            "last_quarter": cycle.last_quarter, "ends": cycle.next_new}


def _find(s: Session, campaign_id: str) -> str:
    return s.find("campaigns", campaign_id, "campaign")


@campaign.command("renew")
@click.argument("campaign_id", metavar="ID")
@motion_options
@json_option
@now_option
def renew(campaign_id: str, closes: str, quorum: int, threshold: str, as_json: bool) -> None:
    """Propose renewing a campaign for the next lunar cycle (decided before its new moon)."""
    with session() as s:
        cid = _find(s, campaign_id)
        camp = s.state.campaigns[cid]
        st = campaigns.status(s.state, cid, s.now)
        last = (st.cycles or camp["cycles"])[-1]
        # the same new moon, to the second: the fold requires the renewal to start exactly there
        # (the root finder, started elsewhere, may land a fraction of a second apart)
        cycle = dataclasses.replace(lunar.cycle_starting(last["ends"]), new=last["ends"])
        t = terms(s, camp["assembly"], closes, quorum, threshold, Kind.PROPOSE_CAMPAIGN_RENEW)
        entry = s.act(kinds.ProposeCampaignRenew(**t, **_cycle_body(cycle), campaign=actions.ref(cid)))
    emit(as_json, {"id": entry.id.hex(), "campaign": cid, "cycle": iso(_cycle_json(cycle))},
         f"renewal proposed: {entry.id.hex()}\n{_cycle_words(cycle)}")


@campaign.command("list")
@json_option
@now_option
def list_(as_json: bool) -> None:
    """Every campaign and where it stands now."""
    with session() as s:  # the assemblies' names are read as they are printed: the store stays open until then
        rows = [campaigns.account(s.state, cid, s.now)
                for cid, _ in queries.by_time(s.state.campaigns)]
        state = s.state

        def human() -> None:
            if not rows:
                click.echo("no campaign yet: fieldkit campaign plan ASSEMBLY OBJECTIVE")
            for r in rows:
                where = r["phase"] or r["status"]
                click.echo(f"{r['id'][:12]}  {where:<8} {assembly_name(state, r['assembly'])}  "
                           f"{clean(r['objective'])}")

        emit(as_json, {"campaigns": iso(rows)}, human)


@campaign.command("show")
@click.argument("campaign_id", metavar="ID")
@json_option
@now_option
def show(campaign_id: str, as_json: bool) -> None:
    """The campaign's cycle drawn with its phases and what happened in each."""
    with session() as s:
        row = campaigns.account(s.state, _find(s, campaign_id), s.now)
        lines = draw(s.state, row, s.now) + late_lines(s.state, row)
    emit(as_json, iso(row), "\n".join(lines))


MOON = {"surge": "🌑", "crest": "🌓", "pause": "🌕", "debrief": "🌗"}


def draw(state: Any, row: dict[str, Any], now: int) -> list[str]:
    """The text picture of a campaign: one block per cycle, one line per phase, its events."""
    out = [f"campaign {row['id'][:12]} of {assembly_name(state, row['assembly'])}",
           f"objective: {clean(row['objective'])}",
           f"planned by {who(state, row['author'])} on {when(row['time'])}",
           f"now: {row['phase'] or row['status']} — {_detail(row)}"]
    for c in row["cycles"]:
        out.append("")
        decided = f"decided by {c['decision'][:12]}" if c["decided"] else f"proposed by {c['decision'][:12]}"
        out.append(f"cycle {c['number']}: {when(c['new'])} → {when(c['ends'])} "
                   f"({duration(c['ends'] - c['new'])}; {decided})")
        for ph in c["phases"]:
            mark = "▶" if ph["current"] else " "
            out.append(f" {mark} {MOON[ph['phase']]} {ph['phase']:<8} {when(ph['start'])} – {when(ph['end'])}"
                       f"  ({duration(ph['end'] - ph['start'], 1)})")
            if not ph["events"] and ph["end"] <= now:
                out.append("      nothing recorded")
            for ev in ph["events"]:
                out.append("      " + _event(state, ev))
    if row["after"]:
        out.append("")
        out.append("after the last cycle:")
        out.extend("      " + _event(state, ev) for ev in row["after"])
    if row["renewal_pending"]:
        out.append("")
        out.append("renewal under vote: " + ", ".join(r[:12] for r in row["renewal_pending"]))
    return out


def _detail(row: dict[str, Any]) -> str:
    status = row["status"]
    if status == "running":
        end = row["cycles"][-1]["ends"]
        return f"running until the new moon {when(end)}; renew before then or it ends by itself"
    if status == "ended":
        return "ended with the objective reached" if row["reached"] else "ended: not renewed"
    if status == "planned":
        return f"the surge starts at the new moon {when(row['cycles'][0]['new'])}"
    return {"proposed": "the plan is under vote", "rejected": "the plan did not pass"}.get(status, status)


def _event(state: Any, ev: dict[str, Any]) -> str:
    head = f"{when(ev['time'])}  {who(state, ev['author'])}"
    if ev["type"] == "act":
        tag = f" [tags {ev['tagged'][:12]}]" if ev.get("tagged") else ""
        return f"{head}: {clean(ev['text'])}{tag}"
    if ev["type"] == "reached":
        witnesses = ", ".join(who(state, w) for w in ev["witnesses"]) or "no witness yet"
        return f"{head}: OBJECTIVE REACHED ({clean(ev['domain'])}): {clean(ev['text'])} — witnessed by {witnesses}"
    return f"{head}: debrief: {clean(ev['text'])}"


@campaign.command("report")
@click.argument("campaign_id", metavar="ID")
@click.argument("text")
@click.option("--tag", "tagged", default=None, help="Tag an entry (alert, ledger entry, proposal) by id.")
@click.option("--reached", is_flag=True, help="The objective is reached: writes a ledger entry to witness.")
@click.option("--domain", default=None, help="The ledger domain when --reached (housing, food, care...).")
@json_option
@now_option
def report(campaign_id: str, text: str, tagged: str | None, reached: bool, domain: str | None,
           as_json: bool) -> None:
    """Report an act done for a running campaign, or (--reached) that its objective is reached."""
    with session() as s:
        cid = _find(s, campaign_id)
        if reached:
            if tagged:
                raise actions.ActionRefused("--tag goes with an act, not with --reached")
            if not domain:
                raise actions.ActionRefused("--reached needs --domain: which function was taken over")
            entry = s.act(kinds.CampaignReached(actions.ref(cid), domain, text))
        else:
            ref = None
            if tagged:
                hits = sorted(k for k in s.state.entries if k.startswith(tagged.strip().lower()))
                if len(hits) != 1:
                    raise actions.UnknownId(f"{'ambiguous' if hits else 'no'} entry with id {tagged!r}")
                ref = actions.ref(hits[0])
            entry = s.act(kinds.CampaignAct(actions.ref(cid), text, ref))
    eid = entry.id.hex()
    if reached:
        emit(as_json, {"id": eid, "campaign": cid, "ledger_entry": eid},
             f"objective reached: ledger entry {eid}\nmembers witness it with fieldkit ledger witness {eid[:12]}")
    else:
        emit(as_json, {"id": eid, "campaign": cid}, f"act recorded: {eid}")


@campaign.command("debrief")
@click.argument("campaign_id", metavar="ID")
@click.argument("text")
@json_option
@now_option
def debrief(campaign_id: str, text: str, as_json: bool) -> None:
    """Minutes of the campaign's debrief (from the full moon on; the facilitator signs if there is one)."""
    with session() as s:
        cid = _find(s, campaign_id)
        entry = s.act(kinds.CampaignDebrief(actions.ref(cid), text))
    emit(as_json, {"id": entry.id.hex(), "campaign": cid}, f"debrief recorded: {entry.id.hex()}")

"""Rules for mandate reports, federation councils, alerts and the sovereignty ledger."""

from __future__ import annotations

from codec import AckStatus, Entry, Kind, kinds

from . import judge, rules_deadlines, rules_recognition
from .rules_common import Context, Refuse
from .state import State


def mandate_report(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.MandateReport = e.body
    mid, m = ctx.resolve(b.mandate, "proposals", "a mandate")
    if m["kind"] != Kind.PROPOSE_MANDATE.label:
        raise Refuse(f"{b.mandate.hex()} is not a mandate")
    if m["delegate"] != ctx.author:
        raise Refuse(f"only the delegate {m['delegate']} reports on mandate {mid[:12]}")
    status, detail = judge.mandate_status(state, mid, ctx.at)
    if status not in ("live", "review"):
        raise Refuse(f"mandate {mid[:12]} is {status} ({detail}): a report needs a live mandate")
    ctx.require_uncut(m["target"])
    m["reports"].append(e.time)
    # the words too, so `mandate show` can print them (issue 18): the times above stay the clock's input
    m.setdefault("report_texts", []).append({"id": ctx.id, "time": e.time, "text": b.text})
    rules_deadlines.record(state, ctx, (mid,))  # judged against the expiry and the report-due moments
    if m["report_every"]:
        rules_deadlines.add_deadline(state, "proposals", mid, m, e.time + m["report_every"], "report")


def council_convene(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.CouncilConvene = e.body
    assemblies = []
    for ref in b.assemblies:
        aid, _ = ctx.resolve(ref, "assemblies", "an assembly")
        if aid in assemblies:
            raise Refuse(f"assembly {aid[:12]} is listed twice")
        assemblies.append(aid)
    if len(assemblies) < 2:
        raise Refuse("a council needs two or more assemblies")
    if b.until <= e.time:
        raise Refuse("the council would end before it starts")
    mandate = judge.live_mandate(state, ctx.author, assemblies, ctx.at)
    if mandate is None:
        raise Refuse("only a mandated delegate of a listed assembly convenes a council: "
                     + judge.mandate_refusal(state, ctx.author, assemblies, ctx.at))
    ctx.require_uncut(state.proposals[mandate]["target"])
    rules_deadlines.record(state, ctx, (mandate,))
    state.councils[ctx.id] = {
        "objective": b.objective, "until": b.until, "assemblies": assemblies, "convener": ctx.author,
        "time": e.time, "closes": [],
        "participants": {ctx.author: {"assembly": state.proposals[mandate]["target"], "mandate": mandate,
                                      "time": e.time}},
    }
    rules_deadlines.add_deadline(state, "councils", ctx.id, state.councils[ctx.id], b.until, "end")


def council_join(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.CouncilJoin = e.body
    cid, c = ctx.resolve(b.council, "councils", "a council")
    is_open, why = judge.council_status(state, cid, ctx.at)
    if not is_open:
        raise Refuse(why)
    mandate = judge.live_mandate(state, ctx.author, c["assemblies"], ctx.at)
    if mandate is None:
        raise Refuse("not a mandated delegate of a member assembly: "
                     + judge.mandate_refusal(state, ctx.author, c["assemblies"], ctx.at))
    ctx.require_uncut(state.proposals[mandate]["target"])
    if ctx.author in c["participants"]:
        raise Refuse("already takes part in this council")
    c["participants"][ctx.author] = {"assembly": state.proposals[mandate]["target"], "mandate": mandate,
                                     "time": e.time}
    rules_deadlines.record(state, ctx, (cid, mandate))


def alert_raise(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.AlertRaise = e.body
    aid, _ = ctx.resolve(b.assembly, "assemblies", "an assembly")
    ctx.require_member(aid)
    state.alerts[ctx.id] = {"assembly": aid, "author": ctx.author, "time": e.time, "expires": b.expires,
                                "text": b.text, "acks": {}, "resolved": None}
    rules_deadlines.add_deadline(state, "alerts", ctx.id, state.alerts[ctx.id], b.expires, "expiry")


def _open_alert(state: State, ctx: Context, ref: bytes) -> tuple[str, dict]:
    alert_id, alert = ctx.resolve(ref, "alerts", "an alert")
    status = judge.alert_status(alert, ctx.at)
    if status != "open":
        raise Refuse(f"alert {alert_id[:12]} is already {status}")
    return alert_id, alert


def _dated(state: State, ctx: Context, alert_id: str) -> None:
    rules_deadlines.record(state, ctx, (alert_id,))  # judged against the alert's expiry


def alert_ack(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.AlertAck = e.body
    alert_id, alert = _open_alert(state, ctx, b.alert)
    # Responders come from the alert's assembly, the assemblies it recognizes, or those it
    # shares an open council with: solidarity crosses borders, strangers' keys do not.
    why = rules_recognition.responder_refusal(state, alert["assembly"], ctx.author, ctx.entry.seq, ctx.at)
    if why:
        raise Refuse(why)
    if b.status != AckStatus.ETA and b.eta_minutes:
        raise Refuse("an ETA is only given with the ETA status")
    previous = alert["acks"].get(ctx.author)
    if previous is not None:
        state.entries[previous["id"]]["verdict"] = f"replaced by a later answer {ctx.id[:12]}"
    alert["acks"][ctx.author] = {"status": AckStatus(b.status).name.lower(), "eta_minutes": b.eta_minutes,
                                 "time": e.time, "id": ctx.id}
    _dated(state, ctx, alert_id)


def alert_resolve(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.AlertResolve = e.body
    alert_id, alert = _open_alert(state, ctx, b.alert)
    if ctx.author != alert["author"]:
        ctx.require_member(alert["assembly"])
    alert["resolved"] = {"by": ctx.author, "time": e.time, "note": b.note}
    _dated(state, ctx, alert_id)


def ledger_entry(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.LedgerEntry = e.body
    aid, _ = ctx.resolve(b.assembly, "assemblies", "an assembly")
    ctx.require_member(aid)
    state.ledger[ctx.id] = {"assembly": aid, "domain": b.domain.strip().lower(), "text": b.text,
                                "author": ctx.author, "time": e.time, "witnesses": []}


def ledger_witness(state: State, e: Entry, ctx: Context) -> None:
    b: kinds.LedgerWitness = e.body
    _lid, row = ctx.resolve(b.entry, "ledger", "a ledger entry")
    ctx.require_member(row["assembly"])
    if ctx.author == row["author"]:
        raise Refuse("the author of a ledger entry cannot witness it")
    if any(w["key"] == ctx.author for w in row["witnesses"]):
        raise Refuse("already witnessed this entry")
    row["witnesses"].append({"key": ctx.author, "time": e.time})


HANDLERS = {
    Kind.MANDATE_REPORT: mandate_report,
    Kind.COUNCIL_CONVENE: council_convene,
    Kind.COUNCIL_JOIN: council_join,
    Kind.ALERT_RAISE: alert_raise,
    Kind.ALERT_ACK: alert_ack,
    Kind.ALERT_RESOLVE: alert_resolve,
    Kind.LEDGER_ENTRY: ledger_entry,
    Kind.LEDGER_WITNESS: ledger_witness,
}

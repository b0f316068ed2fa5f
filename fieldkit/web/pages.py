"""What each page shows: the domain's queries, trimmed to what fits a phone's screen.

Each function takes the node and returns the template's context.  Figures and verdicts
come from ``fieldkit.domain.queries``; nothing here judges anything itself.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import segno

from codec import kinds
from fieldkit.domain import actions, queries
from fieldkit.domain.state import State, kid

from .chart import month_bars
from .node import WebNode

PAGE_ROWS = 50  # rows per list on a phone: the newest first


def when(t: int | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%d %H:%M UTC")


def names(state: State, node: WebNode) -> dict[str, str]:
    """Member key id -> the name they gave when asking to join (else the short key id)."""
    out: dict[str, str] = {}
    for asm in state.assemblies.values():
        for k, m in asm["members"].items():
            if m.get("name"):
                out.setdefault(k, m["name"])
    out.setdefault(node.identity.key_id, node.identity.name)
    return out


def _newest(ids, table: dict[str, dict[str, Any]], n: int = PAGE_ROWS) -> list[str]:
    return sorted(ids, key=lambda i: table[i]["time"], reverse=True)[:n]


def _target_name(state: State, ref_or_id: str) -> str:
    for table in ("assemblies", "councils"):
        for k, row in state.tables[table].items():
            if k.startswith(ref_or_id[:12]):
                return row.get("name") or row.get("objective", "")[:40]
    return ref_or_id[:12]


def home(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    open_alerts = [queries.alert_show(state, a, now) for a in _newest(
        (a for a, r in state.alerts.items() if r["time"] <= now < r["expires"] and r["resolved"] is None),
        state.alerts, 10)]
    assemblies = [{"id": a, "name": r["name"], "need": r["need"], "members": len(r["members"])}
                  for a, r in sorted(state.assemblies.items(), key=lambda kv: kv[1]["time"])]
    open_props = [queries.tally(state, p, now) for p in _newest(
        (p for p, r in state.proposals.items() if r["closes"] > now), state.proposals, 20)]
    return {"alerts": open_alerts, "assemblies": assemblies, "proposals": open_props,
            "names": names(state, node), "targets": {p["target"]: _target_name(state, p["target"])
                                                      for p in open_props}}


def assembly(node: WebNode, prefix: str) -> dict[str, Any]:
    state, now = node.state(), node.now()
    aid = actions.find(state, "assemblies", prefix, "assembly")
    show = queries.assembly_show(state, aid, now)
    props = [queries.tally(state, p, now) for p in _newest(
        (p for p, r in state.proposals.items() if r.get("target") == aid), state.proposals)]
    return {"a": show, "proposals": props, "names": names(state, node)}


def proposal(node: WebNode, prefix: str) -> dict[str, Any]:
    state, now = node.state(), node.now()
    pid = actions.find(state, "proposals", prefix, "proposal")
    t = queries.tally(state, pid, now)
    ballots = {v: b["option"] for v, b in state.proposals[pid]["ballots"].items() if b["time"] <= now}
    return {"p": t, "ballots": ballots, "names": names(state, node), "target": _target_name(state, t["target"]),
            "author": state.proposals[pid]["author"], "time": state.proposals[pid]["time"]}


def alerts(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    rows = [queries.alert_show(state, a, now) for a in _newest(
        (a for a, r in state.alerts.items() if r["time"] <= now), state.alerts)]
    return {"alerts": rows, "names": names(state, node), "assemblies": _assembly_choices(state)}


def alert(node: WebNode, prefix: str) -> dict[str, Any]:
    state, now = node.state(), node.now()
    aid = actions.find(state, "alerts", prefix, "alert")
    a = queries.alert_show(state, aid, now)
    return {"a": a, "names": names(state, node), "assembly": _target_name(state, a["assembly"])}


def _assembly_choices(state: State) -> list[dict[str, str]]:
    return [{"id": a, "name": r["name"]} for a, r in sorted(state.assemblies.items(), key=lambda kv: kv[1]["time"])]


def _report_texts(node: WebNode, state: State, mandate_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Report texts per mandate: the state keeps their times; the texts are read from the entries."""
    out: dict[str, list[dict[str, Any]]] = {}
    refs = {m[:12]: m for m in mandate_ids}
    for eid, row in state.entries.items():
        if row["kind"] != "mandate_report" or row["verdict"] != "counted":
            continue
        entry = node.store.get(bytes.fromhex(eid))
        if entry is None or not isinstance(entry.body, kinds.MandateReport):
            continue
        mid = refs.get(entry.body.mandate.hex())
        if mid is not None:
            out.setdefault(mid, []).append({"time": entry.time, "text": entry.body.text, "author": row["author"]})
    return {k: sorted(v, key=lambda r: r["time"]) for k, v in out.items()}


def mandates(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    with node.lock:
        ids = _newest((p for p, r in state.proposals.items() if r["kind"] == "propose_mandate"), state.proposals)
        rows = [queries.mandate_show(state, m, now) for m in ids]
        reports = _report_texts(node, state, set(ids))
    return {"mandates": rows, "reports": reports, "names": names(state, node),
            "assemblies": {r["assembly"]: _target_name(state, r["assembly"]) for r in rows}}


def councils(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    rows = [queries.council_show(state, c, now) for c in _newest(state.councils, state.councils)]
    decisions = {c["id"]: [queries.tally(state, p, now) for p in _newest(
        (p for p, r in state.proposals.items() if r.get("target") == c["id"]), state.proposals, 20)] for c in rows}
    return {"councils": rows, "decisions": decisions, "names": names(state, node),
            "assembly_names": {a: r["name"] for a, r in state.assemblies.items()}}


def ledger(node: WebNode, t) -> dict[str, Any]:
    state, now = node.state(), node.now()
    review = queries.ledger_review(state, now)
    rows = sorted((r for r in queries.ledger_list(state, now)), key=lambda r: r["time"], reverse=True)[:PAGE_ROWS]
    return {"review": review, "rows": rows, "chart": month_bars(review["per_month"], t("per_month")),
            "names": names(state, node), "assembly_names": {a: r["name"] for a, r in state.assemblies.items()}}


def minutes(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    rows = list(reversed(queries.minutes_list(state, now)))[:PAGE_ROWS]
    return {"rows": rows, "names": names(state, node),
            "assembly_names": {a: r["name"] for a, r in state.assemblies.items()}}


def join(node: WebNode) -> dict[str, Any]:
    return {"assemblies": _assembly_choices(node.state())}


def vouch(node: WebNode, key_hex: str) -> dict[str, Any]:
    from .signing import public_key_of

    state, now = node.state(), node.now()
    key = public_key_of(key_hex)
    k = kid(key)
    asking = []
    for aid, asm in state.assemblies.items():
        m = asm["members"].get(k)
        if m is not None and m["admitted"] is None:
            from fieldkit.domain import judge

            asking.append({"id": aid, "name": asm["name"], "vouches": len(m["vouchers"]),
                           "needed": judge.vouches_needed(state, aid, now), "person": m.get("name", "")})
    return {"key": key.hex(), "key_id": k, "asking": asking, "assemblies": _assembly_choices(state),
            "names": names(state, node)}


def whois(node: WebNode, key_text: str) -> dict[str, Any]:
    """A phone's own standing: its name and the assemblies it belongs to or asked to join."""
    from fieldkit.domain import judge

    from .signing import public_key_of

    state, now = node.state(), node.now()
    text = key_text.strip().lower().replace("-", "")
    if len(text) == 64:
        k = kid(public_key_of(text))
    else:  # a short code: a unique prefix of a known key id
        hits = [x for x in state.keys if len(text) >= 8 and x.startswith(text)]
        if len(hits) != 1:
            return {"found": False}
        k = hits[0]
    out = []
    for aid, asm in state.assemblies.items():
        if k in asm["members"]:
            out.append({"id": aid, "name": asm["name"], "member": judge.is_member(state, aid, k, now)})
    public = state.keys.get(k, {}).get("public_key")
    return {"found": True, "key_id": k, "public_key": public, "name": names(state, node).get(k, ""),
            "assemblies": out}


def qr_svg(text: str) -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="svg", scale=4, border=2, xmldecl=False, svgns=True,
                                      title="QR", dark="#000", light="#fff")
    return buf.getvalue()

"""What each page shows: the domain's queries, trimmed to what fits a phone's screen.

Each function takes the node and returns the template's context.  Figures and verdicts
come from ``fieldkit.domain.queries``; nothing here judges anything itself.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import segno

from fieldkit.domain import actions, queries
from fieldkit.domain.state import State, keys_with_prefix, kid, newest

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


def _target_name(state: State, ref_or_id: str) -> str:
    for table in ("assemblies", "councils"):
        for k in keys_with_prefix(state.tables[table], ref_or_id[:12]):
            row = state.tables[table][k]
            return row.get("name") or row.get("objective", "")[:40]
    return ref_or_id[:12]


def home(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    open_alerts = queries.open_alerts(state, now)[::-1][:10]  # newest first
    assemblies = [{"id": a, "name": r["name"], "need": r["need"], "members": len(r["members"])}
                  for a, r in queries.by_time(state.assemblies)]
    open_props = queries.open_proposals(state, now, 20)
    return {"alerts": open_alerts, "assemblies": assemblies, "proposals": open_props,
            "names": names(state, node), "targets": {p["target"]: _target_name(state, p["target"])
                                                      for p in open_props}}


def assembly(node: WebNode, prefix: str) -> dict[str, Any]:
    state, now = node.state(), node.now()
    aid = actions.find(state, "assemblies", prefix, "assembly")
    show = queries.assembly_show(state, aid, now)
    return {"a": show, "proposals": queries.proposals_of(state, aid, now, PAGE_ROWS), "names": names(state, node)}


def proposal(node: WebNode, prefix: str) -> dict[str, Any]:
    state, now = node.state(), node.now()
    pid = actions.find(state, "proposals", prefix, "proposal")
    t = queries.tally(state, pid, now)
    ballots = {v: b["option"] for v, b in state.proposals[pid]["ballots"].items() if b["time"] <= now}
    return {"p": t, "ballots": ballots, "names": names(state, node), "target": _target_name(state, t["target"]),
            "author": state.proposals[pid]["author"], "time": state.proposals[pid]["time"]}


def alerts(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    return {"alerts": queries.recent_alerts(state, now, PAGE_ROWS), "names": names(state, node),
            "assemblies": _assembly_choices(state)}


def alert(node: WebNode, prefix: str) -> dict[str, Any]:
    state, now = node.state(), node.now()
    aid = actions.find(state, "alerts", prefix, "alert")
    a = queries.alert_show(state, aid, now)
    return {"a": a, "names": names(state, node), "assembly": _target_name(state, a["assembly"])}


def _assembly_choices(state: State) -> list[dict[str, str]]:
    return [{"id": a, "name": r["name"]} for a, r in queries.by_time(state.assemblies)]


def mandates(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    rows = queries.mandate_list(state, now, PAGE_ROWS)  # each with its report texts (the domain keeps them)
    return {"mandates": rows, "names": names(state, node),
            "assemblies": {r["assembly"]: _target_name(state, r["assembly"]) for r in rows}}


def councils(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    rows = [queries.council_show(state, c, now) for c, _ in newest(state.councils, now, PAGE_ROWS)]
    decisions = {c["id"]: queries.proposals_of(state, c["id"], now, 20) for c in rows}
    return {"councils": rows, "decisions": decisions, "names": names(state, node),
            "assembly_names": {a: r["name"] for a, r in state.assemblies.items()}}


def ledger(node: WebNode, t) -> dict[str, Any]:
    state, now = node.state(), node.now()
    review = queries.ledger_review(state, now)  # over every ledger entry: what the review is
    rows = queries.recent(state, "ledger", now, PAGE_ROWS)
    return {"review": review, "rows": rows, "chart": month_bars(review["per_month"], t("per_month")),
            "names": names(state, node), "assembly_names": {a: r["name"] for a, r in state.assemblies.items()}}


def minutes(node: WebNode) -> dict[str, Any]:
    state, now = node.state(), node.now()
    return {"rows": queries.recent(state, "minutes", now, PAGE_ROWS), "names": names(state, node),
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
        hits = keys_with_prefix(state.keys, text) if len(text) >= 8 else []
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

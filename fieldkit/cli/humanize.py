"""People-facing words for times, durations and members (never raw epoch seconds).

Times are shown in the node's local time with its zone (TZ, as the system sets it);
``--json`` keeps ISO 8601 UTC (see domain_common.with_iso_times).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from fieldkit.domain.state import State

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean(text: str, oneline: bool = True) -> str:
    """Text a member wrote, safe to print on a terminal: no escape sequences or other control
    characters (a hostile text could redraw the screen or fake a line), no bidi overrides
    (which can make a text read backwards); newlines only where ``oneline`` is False."""
    out = []
    for c in str(text):
        if c == "\n" and not oneline:
            out.append(c)
        elif c in "\n\t\r":
            out.append(" ")
        elif c in _BIDI or unicodedata.category(c) == "Cc":
            out.append("\ufffd")
        else:
            out.append(c)
    return "".join(out)


_UNITS = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60))


def when(t: int | None) -> str:
    """``Tue 01 Dec 2026 18:00 CET``: local time with the zone's name."""
    if t is None:
        return "never"
    return datetime.fromtimestamp(t).astimezone().strftime("%a %d %b %Y %H:%M %Z")


def duration(seconds: int, parts: int = 2) -> str:
    """``3 days 4 hours``, ``45 minutes``, ``less than a minute``."""
    s = abs(int(seconds))
    out = []
    for name, size in _UNITS:
        if s >= size:
            n, s = divmod(s, size)
            out.append(f"{n} {name}{'s' if n != 1 else ''}")
        if len(out) == parts:
            break
    return " ".join(out) if out else "less than a minute"


def relative(t: int, now: int) -> str:
    """``in 2 days 3 hours`` or ``5 hours ago``."""
    if t >= now:
        return f"in {duration(t - now)}"
    return f"{duration(now - t)} ago"


def member_name(state: State, key: str) -> str:
    """The name a member gave when joining (any assembly), or ''."""
    for asm in state.assemblies.values():
        m = asm["members"].get(key)
        if m is not None and m.get("name"):
            return str(m["name"])
    return ""


def who(state: State, key: str | None) -> str:
    """``Ana (3fa2b1c04d5e6f70)``: the name beside the key id, or the key id alone."""
    if not key:
        return "nobody"
    name = clean(member_name(state, key))
    return f"{name} ({key})" if name else key


def assembly_name(state: State, assembly_id: str) -> str:
    asm = state.assemblies.get(assembly_id)
    return f"{clean(asm['name'])} ({assembly_id[:12]})" if asm else assembly_id[:12]


def names(state: State, keys: list[str] | Any) -> str:
    return ", ".join(who(state, k) for k in keys) or "nobody"


def describe(state: State, proposal_id: str) -> str:
    """What a proposal or motion does, in one sentence with names and readable times."""
    return clean(_describe(state, proposal_id))


def _describe(state: State, proposal_id: str) -> str:
    p = state.proposals[proposal_id]
    kind = p["kind"]
    where = assembly_name(state, p["target"]) if p.get("target_type") == "assembly" else f"council {p['target'][:12]}"
    if kind == "propose_removal":
        why = f" — {p['text']}" if p["text"] else ""
        return f"remove {who(state, p['member'])} from {where}{why}"
    if kind == "propose_role":
        renewal = " (a renewal: the same holder again)" if p.get("renewal") else ""
        return (f"{who(state, p['holder'])} as {p['role_name']} of {where} from {when(p['term_start'])} "
                f"to {when(p['term_end'])}{renewal}")
    if kind == "propose_mandate":
        every = f", reporting back every {duration(p['report_every'])}" if p["report_every"] else ""
        return (f"mandate {who(state, p['delegate'])} for {where}: {p['scope']} — until {when(p['expires'])}"
                f"{every}")
    if kind in ("propose_renew", "propose_recall"):
        m = state.proposals.get(p["mandate"], {})
        of = f"mandate {p['mandate'][:12]} of {who(state, m.get('delegate'))} ({m.get('scope', '')[:60]})"
        if kind == "propose_renew":
            return f"renew {of} until {when(p['expires'])}"
        return f"recall {of}" + (f" — {p['text']}" if p["text"] else "")
    if kind == "propose_council_close":
        return f"close council {p['target'][:12]}: objective met — {p['text']}"
    if kind in ("propose_campaign", "propose_campaign_renew"):
        c = p["cycle"]
        verb = "campaign" if kind == "propose_campaign" else f"renew campaign {p['campaign'][:12]}"
        return (f"{verb} of {where}: {p['text']} — surge from the new moon {when(c['new'])}, crest by the full "
                f"moon {when(c['full'])}, renew or end at the new moon {when(c['ends'])}")
    return str(p["text"])


def outcome_words(row: dict[str, Any]) -> str:
    """A tally row's state in words: open until, passed, or failed and why."""
    if not row["closed"]:
        return f"open until {when(row['closes'])}"
    if row["passed"]:
        return f"passed ({row['outcome']}) at {when(row['closes'])}"
    reason = {"failed: quorum": f"too few voters ({row['voters']} of {row['quorum']} needed)",
              "failed: tie": "a tie", "failed: threshold": f"no option reached {row['threshold']}%"}
    return f"failed: {reason.get(row['outcome'], row['outcome'])}, closed at {when(row['closes'])}"


def proposed(state: State, proposal_id: str) -> str:
    """What a command that opens a motion prints: what it does, its id, until when and how to vote."""
    p = state.proposals[proposal_id]
    return (f"proposed: {describe(state, proposal_id)}\n"
            f"id {proposal_id}\n"
            f"open until {when(p['closes'])}; it takes effect if it passes "
            f"(fieldkit vote {proposal_id[:12]} yes)")


_EPOCH = re.compile(r"\b(1[5-9]\d{8}|2[0-4]\d{8})\b")  # Unix seconds from 2017 to 2046


def readable(text: str) -> str:
    """A reason from the domain with its raw Unix times as local times (verdicts keep
    epoch seconds, since they are part of the replicated state; people read dates)."""
    return _EPOCH.sub(lambda m: when(int(m.group(1))), text)


ACT_WORDS = {"mandate_report": "report", "council_convene": "council convened", "council_join": "council joined",
             "proposal": "council decision", "propose_council_close": "council close motion",
             "alert_ack": "answer", "alert_resolve": "resolution", "campaign_act": "campaign act",
             "campaign_reached": "objective reached", "minutes": "minutes", "campaign_debrief": "debrief"}


def late_lines(state: State, row: dict[str, Any], indent: str = "") -> list[str]:
    """The late acts of a view (fieldkit/domain/rules_deadlines.py) and whether they are contested."""
    out = [f"{indent}late: {ACT_WORDS.get(x['kind'], x['kind'])} {x['id'][:12]} by {who(state, x['author'])}, "
           f"dated {when(x['time'])}: {x['judged']}" for x in row.get("late", ())]
    if row.get("contested"):
        out.append(f"{indent}CONTESTED: counting the late acts would change what is shown")
    return out

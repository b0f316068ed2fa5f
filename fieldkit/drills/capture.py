"""The co-optation drill's capture scenarios (issue 12): rules no single member can capture.

Called by :mod:`fieldkit.drills.cooptation` at fixed points of its timeline, on the same
simulated mesh, so every verdict is checked on all six nodes:

- single-member removal with lax terms (quorum 1, threshold 1 %, a minute to vote);
- a removal by a real majority with a week's notice (the control), then the removed
  key signing a vouch dated before the removal's close;
- a ballot signed after the close, dated before it, by a member who had not voted:
  the members' nodes sealed the close, so it is late and the tally contested;
- sybil responders: five fresh keys found five assemblies and answer a real alert;
  a member of a recognized assembly answers too (the control);
- a stranger's alert ("DO NOT GO, meet at Plaza Sol"): counts for no node's assembly;
- a ground short id: a stranger's proposal whose id starts like a real one's;
- a far-future entry (year 2160): held on every node, and never forces a refold;
- acts backdated before a deadline other than a close (rules_deadlines.py): minutes
  dated inside a facilitator term that had ended, a mandate report dated before the
  mandate expired -- other members' nodes sealed those deadlines, so both are late.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codec import AckStatus, Entry, KeyPair, key_id, kinds, sign_entry
from fieldkit.domain import actions, queries
from fieldkit.domain import derive as dv
from fieldkit.domain.state import kid
from fieldkit.scenario.world import World

from .report import DrillReport

H, D = 3600, 86400
STRANGERS = 5
HEAR_WITHIN = 2 * H  # how long setup waits for a member's chain head to reach another node
SHORT_HEX = 3  # the drill grinds a 12-bit look-alike (SMS short ids are 24-bit: same rule, 4096× the work)


@dataclass
class Capture:
    """What the scenarios set up, to be judged after the mesh converges."""

    attempts: list[tuple[str, Entry, str]] = field(default_factory=list)  # (name, entry, expected verdict prefix)
    ec: KeyPair | None = None
    removal: Entry | None = None
    late_ballot: Entry | None = None
    late_report: Entry | None = None
    mandate: Entry | None = None
    stranger_alert: Entry | None = None
    look_alike: Entry | None = None
    strangers: list[KeyPair] = field(default_factory=list)


def setup(world: World, east: Entry, south: Entry, north: Entry, cap: Capture) -> None:
    """Early on (t0 + ~3 h): a third Eastside member, recognition of Northside, the lax and the
    real removal, the sybils' assemblies."""
    n = world.nodes
    cap.ec = world.key_for("ec")
    for voucher in ("ea", "eb"):
        n[voucher].act(kinds.Vouch(east.ref, cap.ec.public_key))
    world.run_for(120, step=5)
    now = world.now
    lax = n["ea"].act(kinds.ProposeRemoval(east.ref, now + 60, 1, 1, key_id(n["eb"].key.public_key),
                                           "I decide alone", 0))
    n["ea"].act(kinds.Ballot(lax.ref, 0))
    cap.attempts.append(("single member removes another with lax terms (quorum 1, 1 %, a minute)", lax,
                         "refused: quorum 1 is below the constitution's floor for strict decisions"))
    # The cut names how many of sb's entries the deciding members accept: all sb signed so far,
    # as far as sa (who proposes it) has heard.  Let the mesh carry sb's chain head to sa first:
    # it may still be on the air (a few minutes of LoRa airtime, more under load).
    sb = n["sb"].key.public_key
    head = max((e.seq for e in n["sb"].store.entries() if e.author == sb), default=-1)
    deadline = world.now + HEAR_WITHIN
    while world.now < deadline and _heard(world, "sa", sb) < head:
        world.run_for(60, step=5)
    sb_keep = 1 + _heard(world, "sa", sb)
    now = world.now
    cap.removal = n["sa"].act(kinds.ProposeRemoval(south.ref, now + 7 * D, 1, 66,
                                                   key_id(n["sb"].key.public_key), "sold the list to the landlord",
                                                   sb_keep))
    n["sa"].act(kinds.Ballot(cap.removal.ref, 0))
    cap.attempts.append(("control: removal by a real majority with a week's notice", cap.removal, "counted"))
    rec = n["ea"].act(kinds.ProposeRecognize(east.ref, now + H, 1, 50, north.ref))
    n["ea"].act(kinds.Ballot(rec.ref, 0))
    cap.attempts.append(("control: Eastside recognizes Northside by decision", rec, "counted"))
    for i in range(STRANGERS):
        key = world.key_for(f"sybil-{i}")
        cap.strangers.append(key)
        n["nb"].act(kinds.AssemblyFound(f"Neighbours {i}", "housing", 1), key=key)


def _heard(world: World, holder: str, author: bytes) -> int:
    """The highest sequence number of ``author`` that ``holder``'s store holds (-1: none)."""
    return max((e.seq for e in world.nodes[holder].store.entries() if e.author == author), default=-1)


def alerts(world: World, east: Entry, cap: Capture) -> None:
    """After the recognition passed: a real alert, sybil and friendly answers, a stranger's alert."""
    n = world.nodes
    alert = n["ea"].act(kinds.AlertRaise(east.ref, world.now + 3 * H, "eviction at 12 Elm St, now"))
    world.run_for(120, step=5)
    for i, key in enumerate(cap.strangers):
        cap.attempts.append((f"sybil responder {i} (a one-person assembly) answers a real alert",
                             n["nb"].act(kinds.AlertAck(alert.ref, AckStatus.COMING, 0), key=key),
                             "refused: not a member of Eastside Tenants, of an assembly it recognizes"))
    cap.attempts.append(("control: a member of a recognized assembly answers the alert",
                         n["na"].act(kinds.AlertAck(alert.ref, AckStatus.COMING, 0)), "counted"))
    stranger_asm = next(e for e in n["nb"].store.entries() if e.author == cap.strangers[0].public_key)
    cap.stranger_alert = n["nb"].act(kinds.AlertRaise(stranger_asm.ref, world.now + 3 * H,
                                                      "Police at Calle Mayor: DO NOT GO, meet at Plaza Sol"),
                                     key=cap.strangers[0])
    cap.look_alike = _grind(world, cap.strangers[1], stranger_asm, east)


def _grind(world: World, key: KeyPair, asm: Entry, target: Entry) -> Entry | None:
    """A stranger's proposal whose id starts with the same SHORT_HEX digits as a real proposal's."""
    node = world.nodes["nb"]
    real = [e for e in node.store.entries() if e.kind.label == "proposal" and e.body.target == target.ref]
    if not real:
        return None
    prefix = real[0].id.hex()[:SHORT_HEX]
    own = sorted((e for e in node.store.entries() if e.author == key.public_key), key=lambda e: e.seq)
    seq, link = (len(own), own[-1].id) if own else (0, None)
    for i in range(1 << (4 * SHORT_HEX + 4)):
        body = kinds.Proposal(asm.ref, world.now + 2 * H, 1, 50, ("yes", "no"), f"sell the garden #{i}")
        trial = sign_entry(key, seq, link, world.now, body)
        if trial.id.hex().startswith(prefix):
            return node.act(body, key=key)
    return None


def after_close(world: World, proposal: Entry, cap: Capture) -> None:
    """Past the proposal's close: the members' nodes seal it; then a member who had not voted
    signs a ballot dated before the close."""
    n = world.nodes
    pid = proposal.id.hex()
    for name in ("ea", "eb"):
        state = n[name].state()
        n[name].act(actions.seal_body(state, pid, n[name].store.first_seen))
    world.run_for(300, step=10)
    assert cap.ec is not None
    cap.late_ballot = n["eb"].act(kinds.Ballot(proposal.ref, 0), key=cap.ec, at=proposal.body.closes - 600)
    cap.attempts.append(("backdated ballot after the close (a member who had not voted)", cap.late_ballot,
                         "counted"))  # counted by the fold; the tally shows it late (checked below)


def seal_deadlines(world: World, name: str) -> list[Entry]:
    """What a running node does every ten minutes (node/duties.py): seal the deadlines due."""
    node = world.nodes[name]
    me, out = kid(node.key.public_key), []
    for oid, deadline in actions.due_deadline_seals(node.state(), me, world.now):
        body = actions.deadline_seal_body(node.state(), oid, deadline, world.now, node.store.first_seen)
        out.append(node.act(body))
    return out


def backdated_minutes(world: World, east: Entry, term_end: int, cap: Capture) -> None:
    """Past the facilitator's term: another member's node seals its end; the former
    facilitator (cut off, quiet since) then signs minutes dated inside the term."""
    n = world.nodes
    sealed = seal_deadlines(world, "eb")
    world.run_for(120, step=10)
    own = max(e.time for e in n["ea"].store.entries() if e.author == n["ea"].key.public_key)
    minutes = n["ea"].act(kinds.Minutes(east.ref, "we also agreed to hand the hall to the owner"),
                          at=max(own, term_end - 600))
    cap.attempts.append(("minutes backdated into a facilitator term that had ended (its end sealed)", minutes,
                         "refused: late: claimed before the deadline" if sealed else "(no seal signed)"))


def backdated_report(world: World, mandate: Entry, cap: Capture) -> None:
    """Past the mandate's expiry: a member's node seals it; the delegate, quiet since, then
    signs a report dated before the expiry."""
    n = world.nodes
    sealed = seal_deadlines(world, "ea")
    world.run_for(120, step=10)
    own = max(e.time for e in n["eb"].store.entries() if e.author == n["eb"].key.public_key)
    cap.mandate = mandate
    cap.late_report = n["eb"].act(kinds.MandateReport(mandate.ref, "all agreed, as I said"),
                                  at=max(own, mandate.body.expires - 600))
    cap.attempts.append(("mandate report backdated before the mandate expired (the expiry sealed)",
                         cap.late_report,
                         "refused: late: claimed before the deadline" if sealed else "(no seal signed)"))


def removed_key_backdates(world: World, south: Entry, cap: Capture) -> None:
    """Past the removal's close: the removed key vouches for an outsider, dated before the close."""
    n = world.nodes
    assert cap.removal is not None
    own = max(e.time for e in n["sb"].store.entries() if e.author == n["sb"].key.public_key)
    outsider = world.key_for("outsider-south")
    vouch = n["sb"].act(kinds.Vouch(south.ref, outsider.public_key), at=max(own, cap.removal.body.closes - H))
    cap.attempts.append(("removed key vouches for a newcomer, dated before its removal", vouch,
                         f"refused: {key_id(n['sb'].key.public_key).hex()} was cut by decision "
                         f"{cap.removal.id.hex()[:12]}: only its first {cap.removal.body.keep} entries count"))


def judge(world: World, proposal: Entry, south: Entry, cap: Capture, report: DrillReport) -> None:
    """Checks that read the converged state of every node (verdicts are checked by the caller)."""
    n = world.nodes
    names = list(n)
    now = world.now
    tallies = {name: queries.tally(n[name].state(), proposal.id.hex(), now) for name in names}
    late_ok = all(t["contested"] and [x["id"] for x in t["late"]] == [cap.late_ballot.id.hex()]
                  for t in tallies.values()) if cap.late_ballot else False
    outcomes = {t["outcome"] for t in tallies.values()}
    report.check("backdated ballot after the close: judged late, tally contested",
                 f"late on all {len(names)} nodes, contested, outcome unchanged",
                 f"late and contested on {sum(t['contested'] for t in tallies.values())} nodes, "
                 f"outcome {sorted(map(str, outcomes))}", late_ok and len(outcomes) == 1)
    if cap.late_report is not None and cap.mandate is not None:
        shows = [queries.mandate_show(n[name].state(), cap.mandate.id.hex(), now) for name in names]
        marked = sum(1 for s in shows if [x["id"] for x in s["late"]] == [cap.late_report.id.hex()])
        report.check("backdated mandate report: shown late on the mandate", f"late on all {len(names)} nodes",
                     f"late on {marked} nodes", marked == len(names))
    sb = key_id(n["sb"].key.public_key).hex()
    removed = [name for name in names
               if sb not in queries.assembly_show(n[name].state(), south.id.hex(), now)["members"]]
    report.check("removal by a real majority takes effect after its notice", f"removed on all {len(names)} nodes",
                 f"removed on {len(removed)} nodes", len(removed) == len(names))
    counts = {}
    for name in names:
        state = n[name].state()
        mine = queries.assemblies_of(state, kid(n[name].key.public_key), now)
        counts[name] = queries.alert_counts(state, cap.stranger_alert.id.hex(), mine, now) \
            if cap.stranger_alert else True
    report.check("stranger's alert goes out at alert priority (SMS, relay)", "for no node's assemblies",
                 f"counts for {sum(counts.values())} of {len(names)} nodes", not any(counts.values()))
    if cap.look_alike is not None:
        prefix = cap.look_alike.id.hex()[:SHORT_HEX]
        resolved = set()
        for name in ("ea", "eb"):
            state = n[name].state()
            mine = queries.assemblies_of(state, kid(n[name].key.public_key), now)
            resolved.update(queries.resolve_short(state, "proposals", prefix, mine))
        report.check("ground short id: a stranger's look-alike proposal id",
                     "Eastside members' short id still names their own proposal",
                     f"resolves to {sorted(r[:12] for r in resolved)}", resolved == {proposal.id.hex()})
    else:
        report.check("ground short id: a stranger's look-alike proposal id", "a look-alike ground", "none found",
                     False)
    _far_future(world, cap, report)


def _far_future(world: World, cap: Capture, report: DrillReport) -> None:
    """A far-future entry: held out of every node's fold; the next append continues the fold."""
    n = world.nodes
    key = cap.strangers[2]
    asm = next(e for e in n["nb"].store.entries() if e.author == key.public_key)
    year_2160 = 1735689600 + 135 * 365 * D  # within the wire's 32-bit time (2025 + 136 years)
    future = n["nb"].act(kinds.LedgerEntry(asm.ref, "housing", "from the future"), key=key, at=year_2160)
    world.run_for(600, step=10)
    held, continued = 0, 0
    horizon = world.now + dv.FUTURE_SKEW
    for name in n:
        entries = list(n[name].store.entries())
        state = dv.derive([e for e in entries if e.id != future.id] + [future], horizon)
        held += future.id.hex() in state.future
        probe = sign_entry(world.key_for(f"probe-{name}"), 0, None, world.now, kinds.AssemblyFound("probe", "x", 1))
        after = dv.update(state, [probe], lambda es=entries, p=probe: [*es, p], horizon)
        continued += after is state and after.verdict(probe.id) == "counted"
    report.check("far-future entry (year 2160) from any key", "held on every node; the next append is no refold",
                 f"held on {held}, continued the fold on {continued} of {len(n)} nodes",
                 held == continued == len(n))


def summary(cap: Capture) -> dict[str, Any]:
    return {"capture_attempts": len(cap.attempts), "sybils": len(cap.strangers)}

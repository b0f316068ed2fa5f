"""The demo's story: three assemblies on one simulated town mesh, from founding to the ledger.

Nodes: the tenants' hall and the delegate's van node (Eastside Tenants' Union), the food
cooperative's pantry (with an SMS gateway for members on basic phones), the workplace
council's depot, and the council's handheld — an emulated Meshtastic device driven by the
real meshtastic library.  Every action is checked with the domain before it is signed,
as the CLI does, and the verdicts are read back from the nodes' own views.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codec import Entry, FieldkitError, KeyPair, key_id, kinds
from fieldkit.domain import actions, queries
from fieldkit.nodestore import act as checked_act
from fieldkit.scenario.world import DEFAULT_START, SimNode, World
from radio.sim.presets import Role

from .handheld import Handheld
from .phones import Phones, settle_texts
from .timeline import Timeline

H, D = 3600, 86400
GATEWAY_NUMBER = "+447700900100"
ROSA, TOMAS = "+447700900201", "+447700900202"
HANDHELD_NUM = 0x00C0FFEE


class DemoError(FieldkitError):
    """The story could not go on: what it waited for did not happen."""


class Story:
    def __init__(self, seed: int, folder: Path, start: int = DEFAULT_START) -> None:
        self.world = World(seed=seed, folder=folder / "stores", sync_interval=120.0, start=start)
        self.folder = folder
        self.tl = Timeline(self.world.mesh, self.world.start)
        self.hh: Handheld | None = None
        self.phones: Phones | None = None
        self.facts: dict[str, Any] = {}
        self.where: dict[str, str] = {}  # node -> assembly it serves

    # --- the cast ----------------------------------------------------------------------
    def build(self) -> None:
        w = self.world
        for name, assembly in (("tenants-hall", "tenants"), ("tenants-van", "tenants"), ("coop-pantry", "coop"),
                               ("works-depot", "works")):
            # The pantry's node sits on the roof as a ROUTER: routers always rebroadcast
            # (managed flooding lets a CLIENT cancel its relay when it hears another one).
            node = w.add_node(name, role=Role.ROUTER if name == "coop-pantry" else Role.CLIENT)
            self.tl.meter.watch(node.bus)
            self.where[name] = assembly
        # A town: the van parks by the hall; the pantry is across the park; the depot further on.
        w.link("tenants-hall", "tenants-van", 100.0)
        w.link("tenants-hall", "coop-pantry", 118.0)
        w.link("tenants-van", "coop-pantry", 122.0)
        w.link("coop-pantry", "works-depot", 116.0)
        self.hh = Handheld(w, "works-handheld", HANDHELD_NUM, self.folder)
        self.tl.meter.watch(self.hh.node.bus)
        self.where["works-handheld"] = "works"
        w.mesh.set_link(HANDHELD_NUM, w.nodes["works-depot"].num, 104.0)
        w.mesh.set_link(HANDHELD_NUM, w.nodes["coop-pantry"].num, 124.0)
        self.hh.start()
        self.phones = Phones(w.nodes["coop-pantry"], GATEWAY_NUMBER, self.folder / "pantry-home")
        self.phones.start()

    def all_nodes(self) -> list[SimNode]:
        assert self.hh is not None
        return [*self.world.nodes.values(), self.hh.node]

    def node(self, name: str) -> SimNode:
        assert self.hh is not None
        return self.hh.node if name == self.hh.node.name else self.world.nodes[name]

    # --- stepping ---------------------------------------------------------------------
    def run(self, seconds: float, step: float = 2.0) -> None:
        """Advance the mesh, the emulated radio and every node's core in virtual time."""
        assert self.hh is not None
        mesh, end = self.world.mesh, self.world.mesh.now + seconds
        while mesh.now < end:
            self.hh.quiet()
            self.hh.air.advance(min(end, mesh.now + step) - mesh.now)
            self.hh.quiet()
            for node in self.all_nodes():
                node.core.tick(self.world.now)
        self.hh.quiet()

    def settle(self, limit: float, step: float = 2.0) -> bool:
        """Run until every node holds the same digests (or ``limit`` seconds passed)."""
        waited = 0.0
        while waited < limit:
            if self.converged():
                return True
            self.run(20.0, step)
            waited += 20.0
        return self.converged()

    def until_seen(self, entry: Entry, limit: float = 900.0, step: float = 1.0) -> int:
        """Run until every node holds ``entry`` (a push may be lost; beacons and sync repair it).
        Returns the simulated seconds it took."""
        began = self.world.mesh.now
        while not all(n.store.get(entry.id) is not None for n in self.all_nodes()):
            if self.world.mesh.now - began > limit:
                missing = [n.name for n in self.all_nodes() if not n.store.get(entry.id) is not None]
                raise DemoError(f"{entry.kind.label} did not reach {missing} in {limit:.0f} s")
            self.run(1.0, step)
        return int(self.world.mesh.now - began)

    def converged(self) -> bool:
        return len({n.digests() for n in self.all_nodes()}) == 1

    # --- acting like the CLI: check with the domain, then sign and push -------------------
    def act(self, where: str, who: str, body: Any, what: str) -> Entry:
        node = self.node(where)
        entry = checked_act(node.store, self.world.key_for(who), body, self.world.now)  # the CLI's own path
        node.core.publish_local([entry])
        link = "radio (meshtastic)" if self.hh is not None and node is self.hh.node else "radio"
        self.tl.entry(f"{who} @{where}", what, entry, link)
        return entry

    def kid(self, who: str) -> bytes:
        return key_id(self.key(who).public_key)

    def key(self, who: str) -> KeyPair:
        return self.world.key_for(who)

    def state_at(self, where: str) -> Any:
        return self.node(where).state()

    def traffic(self, label: str) -> None:
        self.tl.traffic(label)

    def close(self) -> None:
        try:
            if self.phones is not None:
                self.phones.stop()
        finally:
            try:
                if self.hh is not None:
                    self.hh.stop()
            finally:
                self.world.close()


def tell(story: Story) -> dict[str, Any]:
    """Play the whole story; returns the facts the summary and the tests read."""
    s, w, tl = story, story.world, story.tl
    assert s.phones is not None and s.hh is not None
    phones = s.phones
    f: dict[str, Any] = s.facts

    # 1. Founding and vouching -----------------------------------------------------------
    tenants = s.act("tenants-hall", "Ana", kinds.AssemblyFound("Eastside Tenants' Union", "housing", 2),
                    "founds Eastside Tenants' Union (2 vouches to join)")
    coop = s.act("coop-pantry", "Bruno", kinds.AssemblyFound("Park Lane Food Coop", "food", 1),
                 "founds Park Lane Food Coop (1 vouch to join)")
    works = s.act("works-handheld", "Carmen", kinds.AssemblyFound("Depot Workers' Council", "work", 1),
                  "founds Depot Workers' Council from a handheld radio")
    s.run(30)
    s.traffic("founding spreads")
    s.act("tenants-hall", "Ana", actions.vouch(tenants.id.hex(), s.key("Dani").public_key), "vouches for Dani")
    s.act("tenants-hall", "Ana", actions.vouch(tenants.id.hex(), s.key("Eli").public_key), "vouches for Eli")
    s.run(10)
    s.act("tenants-van", "Dani", actions.vouch(tenants.id.hex(), s.key("Eli").public_key),
          "vouches for Eli (second vouch: Eli is in)")
    s.act("works-handheld", "Carmen", actions.vouch(works.id.hex(), s.key("Farid").public_key), "vouches for Farid")
    members = {}
    for number, name, pin in ((ROSA, "Rosa", "2468"), (TOMAS, "Tomás", "1357")):
        sub = phones.enrol(number, name, pin)
        members[name] = sub
        tl.add("Bruno @coop-pantry", f"enrols {name}'s basic phone with the SMS gateway (PIN set on paper)", "-")
        s.act("coop-pantry", "Bruno", actions.vouch(coop.id.hex(), bytes.fromhex(sub.public_key)),
              f"vouches for {name} (phone member)")
    s.run(60)
    s.traffic("vouches spread")

    # 2. A proposal with ballots from the CLI and by SMS; a mandate to a delegate ------------
    closes = w.now + H
    prop = s.act("coop-pantry", "Bruno",
                 kinds.Proposal(coop.ref, closes, 3, 60, ("yes", "no"), "Bulk order of rice and lentils from "
                                "the Hill Farm co-op, paid from the common fund?"),
                 "proposes a bulk order (quorum 3, 60 %, closes in 1 h)")
    mandate = s.act("tenants-hall", "Ana",
                    kinds.ProposeMandate(tenants.ref, closes, 2, 50, s.kid("Dani"),
                                         "Negotiate the Mill St repairs with the landlord and speak for the union "
                                         "at the federation council", w.now + 30 * D, 7 * D),
                    "proposes a mandate for Dani (negotiate repairs, 30 days, report weekly)")
    # Trust before scale: the union lets the coop's and the depot's members answer its alerts,
    # and the coop lets the union's alerts reach its phones (fieldkit assembly recognize).
    recognitions = [
        ("tenants-hall", "Ana", s.act("tenants-hall", "Ana", kinds.ProposeRecognize(tenants.ref, closes, 1, 50,
                                                                                    other.ref),
                                      f"proposes that the union recognizes {name} (they answer our alerts)"))
        for other, name in ((coop, "the food coop"), (works, "the depot workers"))]
    recognitions.append(("coop-pantry", "Bruno", s.act(
        "coop-pantry", "Bruno", kinds.ProposeRecognize(coop.ref, closes, 1, 50, tenants.ref),
        "proposes that the coop recognizes the tenants' union (its alerts reach our phones)")))
    # a mandate is open at least an hour (the constitution's floor): it closes with the others
    coop_mandate = s.act("coop-pantry", "Bruno",
                         kinds.ProposeMandate(coop.ref, closes, 1, 50, s.kid("Bruno"),
                                              "Speak for the coop at the federation council", w.now + 7 * D, 0),
                         "proposes himself as the coop's council delegate (closes in 1 h)")
    recognitions.append(("coop-pantry", "Bruno", coop_mandate))
    s.run(20)
    s.act("coop-pantry", "Bruno", kinds.Ballot(prop.ref, 0), "votes yes (fieldkit vote)")
    for where, who, motion in recognitions:
        s.act(where, who, kinds.Ballot(motion.ref, 0), "votes yes on the recognition" if motion is not coop_mandate
              else "votes yes")
    short = prop.id.hex()[:6]
    for number, name, pin in ((ROSA, "Rosa", "2468"), (TOMAS, "Tomás", "1357")):
        text = f"VOTE {short} yes {pin}"
        answer, new = phones.text(number, text, "Vote counted")
        tl.add(f"{name} (phone)", f'texts "VOTE {short} yes ****" -> "{answer[:48]}"', "sms", len(text.encode()))
        tl.entry("coop-pantry", f"signs {name}'s ballot with the key it holds and pushes it", new[0])
    for voter in ("Ana", "Dani", "Eli"):
        s.act("tenants-hall" if voter != "Dani" else "tenants-van", voter, kinds.Ballot(mandate.ref, 0),
              "votes yes on Dani's mandate")
    s.run(H + 30, step=10.0)
    s.traffic("ballots spread, proposals close")
    tally = queries.tally(s.state_at("works-depot"), prop.id.hex(), w.now)
    shown = queries.mandate_show(s.state_at("works-depot"), mandate.id.hex(), w.now)
    tl.add("works-depot", f"reads the tally: {tally['outcome']} {tally['counts']} ({tally['voters']} voters)")
    tl.add("works-depot", f"reads Dani's mandate: {shown['status']}")
    f["proposal"] = {"id": prop.id.hex(), "outcome": tally["outcome"], "passed": tally["passed"],
                     "counts": tally["counts"], "voters": tally["voters"], "sms_ballots": 2}
    f["mandate"] = {"id": mandate.id.hex(), "status": shown["status"], "delegate": shown["delegate"]}
    s.run(660, step=10.0)
    s.traffic("the mesh goes quiet")

    # 3. The eviction alert: radio and SMS fan-out, answers from responders ----------------
    alert = s.act("tenants-hall", "Eli", actions.alert_raise(tenants.id.hex(), "Eviction at 14 Mill St, bailiffs at "
                  "the door now. Come to the stairwell.", w.now + 4 * H),
                  "raises an eviction alert (pushed at once, ALERT priority, want-ack)")
    took = s.until_seen(alert)
    s.traffic("alert flooded")
    tl.add("mesh", f"the alert is on every node {took} s after it was raised")
    ashort = alert.id.hex()[:6]
    fanned = phones.fan_out_alerts()
    settle_texts(phones, [ROSA, TOMAS], 3)
    reached = [n for n in (ROSA, TOMAS) if any(f"ALERT {ashort}" in t for t in phones.phone(n).texts())]
    fan_text = phones.phone(ROSA).texts()[-1]
    tl.add("coop-pantry", f'fans {fanned} alert out by SMS to {len(reached)} phones: "{fan_text[:60]}"', "sms",
           len(fan_text.encode()) * len(reached))
    answers = [s.act("tenants-van", "Dani", actions.ack(alert.id.hex(), "coming"), "answers: coming"),
               s.act("works-depot", "Farid", actions.ack(alert.id.hex(), eta_minutes=20), "answers: there in 20 min")]
    s.run(10)  # the radio answers go out before the phones' answers are pushed
    for number, name, word in ((ROSA, "Rosa", "COMING"), (TOMAS, "Tomás", "NO")):
        text = f"ACK {ashort} {word}"
        answer, new = phones.text(number, text, ashort)
        tl.add(f"{name} (phone)", f'texts "{text}" -> "{answer[:48]}"', "sms", len(text.encode()))
        tl.entry("coop-pantry", f"signs {name}'s answer and pushes it", new[0])
        answers += new
    for entry in answers:
        s.until_seen(entry)
    s.traffic("answers spread")
    shown = queries.alert_show(s.state_at("tenants-hall"), alert.id.hex(), w.now)
    names = {s.kid(n).hex(): n for n in ("Dani", "Farid")}
    names.update({m.key_id: name for name, m in members.items()})
    coming = [names.get(k, k) for k in shown["coming"]]
    tl.add("tenants-hall", f"reads the alert: {len(coming)} coming ({', '.join(coming)}), "
           f"{len(shown['not_coming'])} not coming")
    f["alert"] = {"id": alert.id.hex(), "coming": coming, "not_coming": [names.get(k, k) for k in shown["not_coming"]],
                  "sms_acks": 2, "sms_fanout": len(reached), "status": shown["status"]}
    s.act("tenants-hall", "Eli", actions.alert_resolve(alert.id.hex(), "23 neighbours on the stairs; bailiffs left"),
          "resolves the alert")
    s.run(20)

    # 4. A link cut: the tenants' side of town is cut off; both sides carry on -----------------
    w.split({"tenants-hall", "tenants-van"})
    tl.add("mesh", "the link across the park fails: tenants-hall and tenants-van are cut off", "-")
    ledger_tenants = s.act("tenants-hall", "Ana", actions.ledger_entry(tenants.id.hex(), "housing",
                           "Eviction at 14 Mill St stopped by 23 neighbours; family still housed"),
                           "writes a ledger entry (housing)")
    s.act("tenants-van", "Dani", actions.mandate_report(mandate.id.hex(), "Landlord agreed to fix the boiler "
          "by Friday; rent unchanged"), "reports on the mandate")
    s.act("coop-pantry", "Bruno", actions.ledger_entry(coop.id.hex(), "food",
          "First bulk order: 400 kg rice, 200 kg lentils, shared by 60 households"),
          "writes a ledger entry (food)")
    s.act("works-depot", "Farid", actions.ledger_entry(works.id.hex(), "work",
          "Shift rota agreed by the council, no overtime over the holidays"), "writes a ledger entry (work)")
    s.run(300, step=5.0)
    s.traffic("while cut")
    split_digests = {n.name: n.digests()[0][:12] for n in s.all_nodes()}
    tl.add("mesh", f"while cut: {len(set(split_digests.values()))} different store digests among "
           f"{len(split_digests)} nodes")
    f["partition"] = {"distinct_digests": len(set(split_digests.values()))}

    # 5. A delegate carries a node across town --------------------------------------------
    to_pantry = w.carry("tenants-van", "coop-pantry")
    raw = sum(len(s.node("tenants-van").store.raw(e.id)) for e in s.node("tenants-van").store.entries())
    tl.add("Dani", f"carries the van node to the pantry: {to_pantry[0]} entries new there, {to_pantry[1]} known",
           "carried", raw)
    f["carried"] = {"to_pantry": to_pantry[0], "known": to_pantry[1]}
    s.run(60, step=2.0)
    w.heal()
    tl.add("mesh", "the link across the park is back", "-")
    merged = s.settle(1800, step=2.0)
    s.traffic("merge by beacons and sync")
    tl.add("mesh", f"merge: every node's digests equal: {merged}")
    for n in s.all_nodes():
        store_digest, state_digest = n.digests()
        tl.add(n.name, f"store digest {store_digest[:16]}  state digest {state_digest[:16]}  ({len(n.store)} entries)")

    # 6. A federation council for a time-bound objective that dissolves by itself ----------------
    until = w.now + 2 * H
    council = s.act("tenants-van", "Dani", kinds.CouncilConvene("Keep 14 Mill St housed through the winter: a rent "
                    "fund, food parcels, a phone tree", until, (tenants.ref, coop.ref, works.ref)),
                    "convenes a federation council of the three assemblies until +2 h")
    s.run(20)
    s.act("coop-pantry", "Bruno", kinds.CouncilJoin(council.ref), "joins the council for the coop")
    s.run(30)
    decision = s.act("tenants-van", "Dani", kinds.Proposal(council.ref, w.now + 1800, 2, 50, ("yes", "no"),
                     "Coop gives 30 food parcels; union opens a rent fund"), "proposes in the council")
    s.run(20)
    s.act("tenants-van", "Dani", kinds.Ballot(decision.ref, 0), "votes yes")
    s.act("coop-pantry", "Bruno", kinds.Ballot(decision.ref, 0), "votes yes")
    s.run(2 * H + 60, step=20.0)
    s.traffic("council time")
    cshow = queries.council_show(s.state_at("works-handheld"), council.id.hex(), w.now)
    ctally = queries.tally(s.state_at("works-handheld"), decision.id.hex(), w.now)
    tl.add("works-handheld", f"reads the council: {cshow['status']} ({cshow['reason']}); "
           f"its decision {ctally['outcome']}")
    f["council"] = {"id": council.id.hex(), "status": cshow["status"], "reason": cshow["reason"],
                    "until": until, "participants": len(cshow["participants"]), "decision": ctally["outcome"]}

    # 7. The ledger and its review -------------------------------------------------------------
    s.act("tenants-hall", "Eli", kinds.LedgerWitness(ledger_tenants.ref), "witnesses Ana's ledger entry")
    s.act("coop-pantry", "Bruno", actions.ledger_entry(coop.id.hex(), "care",
          "Food parcels to 14 Mill St for the winter, agreed in the federation council"),
          "writes a ledger entry (care)")
    merged = s.settle(1800, step=2.0)
    s.traffic("last entries spread")
    review = queries.ledger_review(s.state_at("coop-pantry"), w.now)
    tl.add("coop-pantry", f"reads the ledger review: {review['entries']} entries, per domain {review['per_domain']}")
    f["ledger"] = review
    f["converged"] = merged
    return f

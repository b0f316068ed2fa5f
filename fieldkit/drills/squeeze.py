"""The squeeze drill: alerts while the mesh loses nodes, links, airtime and its SMS modem.

Twenty-four nodes scattered over a 700 m square (SHORT_FAST, EU_868: about 240 m of range
with the simulator's LoRaSim path loss, so 2 to 4 hops), one assembly with everyone in it, one node holding the SMS
gateway for three responders' phones.  Alerts are raised by random members in phases
that squeeze the mesh harder each time:

1. baseline;
2. 30 % of the nodes lost (powered off);
3. plus 30 % of the remaining radio links cut;
4. plus one node's duty cycle spent by other traffic on its radio (EU_868's 10 %);
5. plus the SMS modem gone: unplugged, then plugged back; then hung for 15 minutes.

For every alert the drill records when each other node first holds it in its store, and
counts it against the nodes that can still be reached at all (alive and connected by
links that decode).  Thresholds are the field's need, fixed before measuring: an alert
reaches at least 90 % of reachable nodes within five minutes.

SHORT_FAST, as the scenario world and the demo use.  The same drill on LONG_FAST over
2 km (the Meshtastic default preset, 8x the airtime per frame) was measured too: the
channel drowns in sync sessions (each a flooded DM) and baseline alerts reach about 45 %
of reachable nodes — see the branch report; a drill for that preset needs a quieter sync.
"""

from __future__ import annotations

import random
from collections import deque

from codec import Entry, kinds
from fieldkit.scenario.world import World
from radio.sim.scenario import percentile

from .report import DrillReport
from .sms_path import SmsPath

NODES = 24
SIDE_M = 700.0
PRESET = "SHORT_FAST"
SYNC_INTERVAL_S = 300.0  # the node default (fieldkit/node/config.py)
LOST_SHARE = 0.3
CUT_SHARE = 0.3
WINDOW_S = 300  # an alert counts as delivered to a node that holds it within this time
ALERTS_PER_PHASE = 3
NEED_RATIO = 0.9  # share of reachable nodes an alert must reach within the window
DUTY_LIMIT = 10.0  # EU_868 percent of the hour (docs/research/meshtastic.md 2.2)
RESPONDERS = ["+34600000001", "+34600000002", "+34600000003"]
GATEWAY = "n00"
SMS_POLL_S = 10.0  # how often the gateway looks at its store and its modem queue
HANG_S = 900  # how long the modem stays hung (15 min: a SIM800 that needs a power cycle)


def _reachable(world: World, source: str, alive: set[str]) -> set[str]:
    """Alive nodes joined to ``source`` by decodable links (any number of hops)."""
    by_num = {world.nodes[name].num: name for name in alive}
    seen, todo = {source}, deque([world.nodes[source].num])
    while todo:
        for link in world.mesh.channel.neighbours(todo.popleft()):
            name = by_num.get(link.receiver)
            if link.decodable and name is not None and name not in seen:
                seen.add(name)
                todo.append(link.receiver)
    return seen - {source}


class Squeeze:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"squeeze:{seed}")
        self.world = World(seed=seed, preset=PRESET, sync_interval=SYNC_INTERVAL_S)
        self.names = [f"n{i:02d}" for i in range(NODES)]
        for name in self.names:
            self.world.add_node(name, (self.rng.uniform(0, SIDE_M), self.rng.uniform(0, SIDE_M)))
        self.alive = set(self.names)
        self.sms: SmsPath | None = None
        self.asm: Entry | None = None

    def setup(self) -> float:
        w, n = self.world, self.world.nodes
        gateway = n[GATEWAY]
        self.asm = gateway.store.append_own(gateway.key, kinds.AssemblyFound("Hillside Assembly", "safety", 1), w.now)
        for name in self.names[1:]:
            n[GATEWAY].store.append_own(n[GATEWAY].key, kinds.Vouch(self.asm.ref, n[name].key.public_key), w.now)
        # The assembly met and everyone copied the log from the founder's node (a bundle on a
        # USB stick): the drill squeezes alerts, not the first day's 24 admissions.
        # (Into each store directly, before the radios start: a log copied everywhere is not
        # pushed again, and no sync session starts on a half-copied store.)
        raws = [n[GATEWAY].store.raw(e.id) for e in n[GATEWAY].store.entries()]
        for name in self.names[1:]:
            n[name].store.add_many(raws, w.now)
        waited = 0.0
        while not w.converged() and waited < 3600:
            w.run_for(60, step=5)
            waited += 60
        self.sms = SmsPath(n[GATEWAY].key, n[GATEWAY].store, RESPONDERS, w.now)
        return waited

    def step(self, seconds: float) -> None:
        """Run; every 10 s let the gateway fan out the alerts it holds and its modem worker
        take the queue (what its service loop does; retries fall due on their own backoff)."""
        w = self.world
        end = w.mesh.now + seconds
        while w.mesh.now < end:
            w.run_for(min(SMS_POLL_S, end - w.mesh.now), step=1.0)
            for alert_id, alert in w.nodes[GATEWAY].state().alerts.items():
                self.sms.fan_out(alert_id, alert["text"], w.now)
            self.sms.drain(w.now)

    def alert(self, raiser: str, window: float = WINDOW_S) -> dict:
        """Raise an alert at ``raiser``; follow it for ``window`` seconds."""
        w = self.world
        entry = w.nodes[raiser].act(kinds.AlertRaise(self.asm.ref, w.now + 3600, f"help needed near {raiser}"))
        start = w.now
        targets = _reachable(w, raiser, self.alive)
        waiting = set(targets)
        latencies: list[float] = []
        while w.now - start < window and waiting:
            self.step(1.0)
            for name in list(waiting):
                if w.nodes[name].store.get(entry.id) is not None:
                    waiting.discard(name)
                    latencies.append(w.now - start)
        self.step(max(0.0, 30.0 - (w.now - start)))  # let the last floods and fan-out settle
        return {"raiser": raiser, "id": entry.id.hex(), "reachable": len(targets),
                "delivered": len(targets) - len(waiting), "latencies": latencies}

    def raisers(self, count: int, exclude: set[str] = frozenset()) -> list[str]:
        pool = sorted(self.alive - exclude - {GATEWAY})
        return self.rng.sample(pool, count)

    # -- the squeezes ------------------------------------------------------------------
    def lose_nodes(self) -> list[str]:
        lost = self.rng.sample(sorted(self.alive - {GATEWAY}), round(LOST_SHARE * NODES))
        for name in lost:
            self.world.mesh.remove_node(self.world.nodes[name].num)
            self.alive.discard(name)
        return lost

    def cut_links(self) -> int:
        mesh, nodes = self.world.mesh, self.world.nodes
        nums = {nodes[name].num for name in self.alive}
        pairs = sorted({tuple(sorted((a, lk.receiver))) for a in nums for lk in mesh.channel.neighbours(a)
                        if lk.receiver in nums and lk.decodable})
        cut = self.rng.sample(pairs, round(CUT_SHARE * len(pairs)))
        for a, b in cut:
            mesh.cut_link(a, b)
        return len(cut)

    def exhaust_duty_cycle(self, name: str) -> float:
        """Other traffic on ``name``'s radio (a chatty app, one hop) until the hour's budget is spent."""
        mesh, num = self.world.mesh, self.world.nodes[name].num
        while mesh.duty_cycle_used(num) <= DUTY_LIMIT:
            for _ in range(10):
                mesh.send(num, bytes(200), hop_limit=0)
            self.step(15.0)
        return mesh.duty_cycle_used(num)


def _phase(report: DrillReport, title: str, results: list[dict]) -> dict:
    reachable = sum(r["reachable"] for r in results)
    delivered = sum(r["delivered"] for r in results)
    latencies = [t for r in results for t in r["latencies"]]
    ratio = delivered / reachable if reachable else 1.0
    summary = {"alerts": len(results), "reachable_pairs": reachable, "delivered_pairs": delivered,
               "delivery_ratio": round(ratio, 3),
               "latency_p50_s": round(percentile(latencies, 0.5), 1) if latencies else None,
               "latency_p95_s": round(percentile(latencies, 0.95), 1) if latencies else None}
    report.check(f"{title}: alerts reach reachable nodes",
                 f">= {NEED_RATIO:.0%} of reachable nodes within {WINDOW_S} s",
                 f"{ratio:.1%} ({delivered}/{reachable}); p50 {summary['latency_p50_s']} s, "
                 f"p95 {summary['latency_p95_s']} s", ratio >= NEED_RATIO)
    return summary


PHASE_WORDS = {"baseline": "With the whole mesh up", "nodes_lost": "With {lost} nodes off",
               "links_cut": "With {cut} links cut as well",
               "duty_cycle_spent": "While one radio had spent its duty cycle",
               "sms_modem_gone": "With the SMS modem unplugged", "sms_modem_hung": "With the SMS modem hung"}


def _tell(report: DrillReport, sq: Squeeze, lost: list[str], cut: int, spent: str, waited: float) -> None:
    """The figures in sentences, and what degraded (what members would have met)."""
    s = report.summary
    story = [f"{NODES} nodes on {PRESET} ({s['region']}), one assembly, {len(RESPONDERS)} phones behind the "
             f"SMS gateway; {s['virtual_minutes']:.0f} virtual minutes."]
    degraded = [f"{len(lost)} nodes were switched off ({', '.join(sorted(lost))}): their members got no alert "
                "until they came back."]
    for key, ph in s["phases"].items():
        lead = PHASE_WORDS[key].format(lost=len(lost), cut=cut)
        story.append(f"{lead}, {ph['alerts']} alert{'s' if ph['alerts'] != 1 else ''} reached "
                     f"{ph['delivered_pairs']} of {ph['reachable_pairs']} reachable nodes "
                     f"({ph['delivery_ratio']:.0%}); half arrived within {ph['latency_p50_s']} s and 95 % within "
                     f"{ph['latency_p95_s']} s.")
        missed = ph["reachable_pairs"] - ph["delivered_pairs"]
        if missed:
            degraded.append(f"{PHASE_WORDS[key].format(lost=len(lost), cut=cut).lower()}, {missed} of "
                            f"{ph['reachable_pairs']} deliveries to reachable nodes did not happen within "
                            f"{WINDOW_S // 60} minutes.")
    degraded.append(f"{spent} had spent its duty cycle: its alert did not go out over the air for "
                    f"{waited / 60:.0f} minutes, until the rolling hour freed the radio.")
    degraded.append(f"With the SMS modem unplugged or hung, the alert texts waited in the queue "
                    f"(up to {HANG_S // 60} minutes while hung) before they reached the phones.")
    if s["sms"]["given_up"]:
        degraded.append(f"{s['sms']['given_up']} text{'s' if s['sms']['given_up'] != 1 else ''} never reached "
                        "a phone: the durable queue gave up.")
    story.append(f"The SMS gateway sent {s['sms']['texts_out']} texts in all (the modem is simulated); the busiest "
                 f"other radio used {s['peak_duty_cycle_percent_other_nodes']} % of its hour.")
    report.story, report.degraded = story, degraded


def run(seed: int = 1) -> DrillReport:
    report = DrillReport("squeeze", seed)
    sq = Squeeze(seed)
    w = sq.world
    setup_s = sq.setup()
    report.check("the mesh forms: every node admitted and in step", "converged within an hour",
                 f"converged after {setup_s:.0f} s" if w.converged() else "not converged", w.converged())
    phases: dict[str, dict] = {}
    phases["baseline"] = _phase(report, "baseline", [sq.alert(r) for r in sq.raisers(ALERTS_PER_PHASE)])
    held = len(sq.sms.fanned)  # alerts that reached the gateway's store
    texts = sq.sms.texts_out
    expected_texts = len(RESPONDERS) * held + len(RESPONDERS)  # one notice per phone first
    report.check("SMS fan-out with the modem present", f"{len(RESPONDERS)} texts for each of the {held} alerts the "
                 f"gateway holds, plus one notice per phone: {expected_texts} out [modem simulated]",
                 f"{texts} texts out", held > 0 and texts == expected_texts)

    lost = sq.lose_nodes()
    phases["nodes_lost"] = _phase(report, f"{len(lost)} of {NODES} nodes lost",
                                  [sq.alert(r) for r in sq.raisers(ALERTS_PER_PHASE)])
    cut = sq.cut_links()
    phases["links_cut"] = _phase(report, f"plus {cut} links cut ({CUT_SHARE:.0%})",
                                 [sq.alert(r) for r in sq.raisers(ALERTS_PER_PHASE)])

    spent = sq.raisers(1)[0]
    used = sq.exhaust_duty_cycle(spent)
    num = w.nodes[spent].num
    refused_before = w.mesh.stats(num).refused_duty_cycle
    stuck = sq.alert(spent, window=120)
    refused = w.mesh.stats(num).refused_duty_cycle - refused_before
    report.check(f"alert from the node whose duty cycle is spent ({spent}, {used:.1f} % of the hour)",
                 "its radio refuses the push (DUTY_CYCLE_LIMIT); the alert does not go out over the air",
                 f"{refused} sends refused DUTY_CYCLE_LIMIT; reached {stuck['delivered']}/{stuck['reachable']} "
                 "nodes in 120 s", refused > 0 and stuck["delivered"] == 0)
    others = [sq.alert(r) for r in sq.raisers(ALERTS_PER_PHASE - 1, exclude={spent})]
    phases["duty_cycle_spent"] = _phase(report, "other nodes' alerts while one radio's duty cycle is spent", others)
    waited = 0.0
    targets = _reachable(w, spent, sq.alive)
    got: set[str] = set()
    while waited < 3900 and got != targets:
        sq.step(60.0)
        waited += 60
        got = {name for name in targets if w.nodes[name].store.get(bytes.fromhex(stuck["id"])) is not None}
    report.check("the held alert goes out once the rolling hour frees the radio",
                 f"on all {len(targets)} nodes reachable from {spent} within 65 min",
                 f"on {len(got)} of them after {waited:.0f} s", got == targets)

    # the spent radio sent its backlog and is near its limit again: the SMS phases test the
    # SMS path, so their alerts come from other nodes (the duty-cycle phase tested that radio)
    sq.sms.modem = "unplugged"
    out_before, fanned_before = sq.sms.texts_out, len(sq.sms.fanned)
    gone = [sq.alert(r) for r in sq.raisers(ALERTS_PER_PHASE, exclude={spent})]
    phases["sms_modem_gone"] = _phase(report, "SMS modem unplugged: alerts over the mesh", gone)
    new_alerts = len(sq.sms.fanned) - fanned_before
    report.check("SMS modem unplugged: no alert text goes out, all wait in the queue",
                 f"0 out, {len(RESPONDERS)} queued per alert the gateway holds [modem simulated]",
                 f"{sq.sms.texts_out - out_before} out, {sq.sms.queued()} queued for {new_alerts} alerts",
                 new_alerts > 0 and sq.sms.texts_out == out_before and sq.sms.queued() == len(RESPONDERS) * new_alerts)
    sq.sms.modem = "present"
    sq.step(60.0)
    resent = sq.sms.texts_out - out_before
    report.check("SMS modem plugged back: the held alert texts go out",
                 f"the {len(RESPONDERS) * new_alerts} held texts (and any for alerts since) out within a minute; "
                 "queue empty", f"{resent} out, {sq.sms.queued()} still queued",
                 new_alerts > 0 and resent >= len(RESPONDERS) * new_alerts and sq.sms.queued() == 0)

    sq.sms.modem = "hung"
    out_before, fanned_before = sq.sms.texts_out, len(sq.sms.fanned)
    hung = [sq.alert(GATEWAY)]  # raised at the gateway itself: the texts are surely queued
    sq.step(max(0.0, HANG_S - WINDOW_S))
    new_alerts = len(sq.sms.fanned) - fanned_before
    sq.sms.modem = "present"
    sq.step(600.0)  # the queue retries on its own backoff
    resent = sq.sms.texts_out - out_before
    report.check(f"SMS modem hung for {HANG_S // 60} min: the alert texts go out once it answers again",
                 f"{len(RESPONDERS) * new_alerts} texts within 10 min of recovery [modem simulated]",
                 f"{resent} out, {sq.sms.given_up()} given up by the durable queue after "
                 f"{sq.sms.queue.max_attempts} timed-out attempts",
                 new_alerts > 0 and resent == len(RESPONDERS) * new_alerts)
    phases["sms_modem_hung"] = _phase(report, "SMS modem hung: alerts over the mesh", hung)
    peak = max(w.mesh.stats(w.nodes[name].num).duty_cycle_peak_percent for name in sq.names if name != spent)
    report.summary = {
        "nodes": NODES, "preset": PRESET, "region": "EU_868", "lost": lost, "links_cut": cut,
        "duty_spent_node": spent, "phases": phases,
        "sms": {"texts_out": sq.sms.texts_out, "given_up": sq.sms.given_up(), "phones": len(RESPONDERS),
                "simulated": "the modem (see fieldkit/drills/sms_path.py)"},
        "peak_duty_cycle_percent_other_nodes": round(peak, 2),
        "virtual_minutes": round((w.now - w.start) / 60, 1),
        "what_still_worked": [k for k, v in phases.items() if v["delivery_ratio"] >= NEED_RATIO],
        "what_did_not": [k for k, v in phases.items() if v["delivery_ratio"] < NEED_RATIO],
        "held_alert_delay_s": waited,
    }
    _tell(report, sq, lost, cut, spent, waited)
    sq.sms.close()
    w.close()
    return report

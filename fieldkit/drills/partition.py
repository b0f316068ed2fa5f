"""The partition drill: the mesh split for a simulated day while both sides keep deciding.

Ten nodes in two neighbourhoods (west, east) joined by two radio links.  One assembly
spans both; a proposal is open when the bridge links go down.  For a day each side goes
on: proposals and ballots, alerts raised and answered, ledger entries and witnesses, and
ballots on the proposal both sides share.  Then the links come back and the report says
whether every node converged to the same digests, how long that took, and what the merge
cost on the air (bytes the fieldkit links sent, frames and airtime of all radios).
"""

from __future__ import annotations

import itertools
import random

from codec import AckStatus, Entry, kinds
from fieldkit.domain import judge
from fieldkit.scenario.world import World

from .common import airtime_s, bytes_sent, frames_sent, run_until_converged
from .report import DrillReport

H, D = 3600, 86400
WEST = tuple(f"w{i}" for i in range(1, 6))
EAST = tuple(f"e{i}" for i in range(1, 6))
ROUND_S = 2 * H  # each side meets every two hours of the simulated day
MERGE_LIMIT_S = 6 * H  # the heal must converge within a quarter of the day spent apart
SYNC_INTERVAL_S = 300.0  # the node default (fieldkit/node/config.py)
DUTY_LIMIT = 10.0  # EU_868 g1 sub-band, percent of the hour (docs/research/meshtastic.md 2.2)


def _neighbourhood(world: World, names: tuple[str, ...]) -> None:
    """A chain with chords: each node hears the next two."""
    for a, b in itertools.pairwise(names):
        world.link(a, b)
    for a, b in zip(names, names[2:], strict=False):
        world.link(a, b, 125.0)


def _side_round(world: World, side: tuple[str, ...], asm: Entry, shared: Entry, rng: random.Random,
                made: list[Entry]) -> None:
    """One meeting of one side: a proposal with ballots, an alert with answers, a ledger line."""
    n = world.nodes
    now = world.now
    author = rng.choice(side)
    p = n[author].act(kinds.Proposal(asm.ref, now + 3 * H, 2, 50, ("yes", "no"), f"{author} asks at {now}"))
    made.append(p)
    for voter in side:
        made.append(n[voter].act(kinds.Ballot(p.ref, rng.randrange(2))))
    raiser = rng.choice(side)
    alert = n[raiser].act(kinds.AlertRaise(asm.ref, now + H, f"eviction at block {rng.randrange(40)}"))
    made.append(alert)
    for responder in rng.sample([s for s in side if s != raiser], 2):
        made.append(n[responder].act(kinds.AlertAck(alert.ref, AckStatus.ETA, rng.randrange(5, 30))))
    writer = rng.choice(side)
    line = n[writer].act(kinds.LedgerEntry(asm.ref, rng.choice(("food", "housing", "care")), "shared a meal"))
    made.append(line)
    made.append(n[rng.choice([s for s in side if s != writer])].act(kinds.LedgerWitness(line.ref)))
    voter = rng.choice(side)  # someone changes their mind on the shared proposal
    made.append(n[voter].act(kinds.Ballot(shared.ref, rng.randrange(2))))


def run(seed: int = 1) -> DrillReport:
    report = DrillReport("partition", seed)
    rng = random.Random(f"partition:{seed}")
    world = World(seed=seed, sync_interval=SYNC_INTERVAL_S)
    for name in WEST + EAST:
        world.add_node(name)
    _neighbourhood(world, WEST)
    _neighbourhood(world, EAST)
    world.link("w5", "e1")
    world.link("w4", "e2", 125.0)
    n = world.nodes
    names = list(WEST + EAST)

    asm = n["w1"].act(kinds.AssemblyFound("Riverside Assembly", "housing", 1))
    world.run_for(30, step=5)
    for name in names[1:]:
        n["w1"].act(kinds.Vouch(asm.ref, n[name].key.public_key))
    world.run_for(60, step=5)
    shared = n["e3"].act(kinds.Proposal(asm.ref, world.now + 2 * D, 6, 50, ("repair fund", "rent strike"),
                                        "how do we answer the rent rise"))
    for name in names[:4]:
        n[name].act(kinds.Ballot(shared.ref, 0))
    before = run_until_converged(world, 2 * H, step=5.0, chunk=60.0)
    report.check("the mesh converges before the split", "one digest pair on all 10 nodes",
                 f"converged after {before:.0f} s" if before is not None else "not converged", before is not None)

    # -- a day apart -------------------------------------------------------------------
    world.split(set(WEST))
    split_at = world.now
    made: dict[str, list[Entry]] = {"west": [], "east": []}
    while world.now < split_at + D - ROUND_S // 2:
        _side_round(world, WEST, asm, shared, rng, made["west"])
        _side_round(world, EAST, asm, shared, rng, made["east"])
        world.run_for(ROUND_S, step=30.0)
    for side, members in (("west", WEST), ("east", EAST)):
        ok = world.converged(list(members))
        report.check(f"the {side} side converges on its own during the split", "one digest pair on its 5 nodes",
                     "converged" if ok else "diverged within the side", ok)
    apart = not world.converged([WEST[0], EAST[0]])
    report.check("the two sides diverge during the split", "different store digests across the cut",
                 "different" if apart else "the same (the cut leaked)", apart)

    # -- heal and measure the merge ----------------------------------------------------
    cost_before = (bytes_sent(world), frames_sent(world), airtime_s(world))
    world.heal()
    took = run_until_converged(world, MERGE_LIMIT_S, step=2.0, chunk=60.0)
    merge_bytes = bytes_sent(world) - cost_before[0]
    merge_frames = frames_sent(world) - cost_before[1]
    merge_air = airtime_s(world) - cost_before[2]
    report.check("every node converges after the heal", f"same store and state digest on all 10 nodes "
                 f"within {MERGE_LIMIT_S} s", f"converged after {took:.0f} s" if took is not None else
                 f"not converged after {MERGE_LIMIT_S} s", took is not None)
    new_entries = made["west"] + made["east"]
    missing = [name for name in names if any(n[name].store.get(e.id) is None for e in new_entries)]
    report.check("every entry made on either side during the split is on every node",
                 f"{len(new_entries)} entries on all 10 nodes",
                 "all present" if not missing else f"missing on {', '.join(missing)}", not missing)
    end = world.now + 3 * D
    tallies = {name: judge.outcome(n[name].state().proposals[shared.id.hex()], end) for name in names}
    voters = {t.voters for t in tallies.values()}
    report.check("the proposal both sides voted on counts ballots from both sides", "10 voters on every node",
                 f"{sorted(voters)} voters", voters == {10})
    entry_bytes = sum(len(e.encode()) for e in new_entries)
    peak = max(world.mesh.stats(node.num).duty_cycle_peak_percent for node in n.values())
    # The simulator checks the duty cycle when a packet is queued, as the firmware does, but
    # its TX queue is unbounded: a backlog queued under the limit all goes out.  A real radio's
    # queue is bounded (the client waits on queueStatus), so this is an upper bound.
    report.check("no radio went over the duty cycle", f"peak rolling-hour TX <= {DUTY_LIMIT} % (EU_868; "
                 "simulated radios, unbounded TX queue)",
                 f"peak {peak:.2f} %", peak <= DUTY_LIMIT)
    report.summary = {
        "nodes": len(names), "split_s": D, "entries_made_apart": {k: len(v) for k, v in made.items()},
        "new_entries_bytes": entry_bytes, "merge_converged_s": took, "merge_bytes_sent": merge_bytes,
        "merge_bytes_per_new_entry_byte": round(merge_bytes / entry_bytes, 2) if entry_bytes else None,
        "merge_radio_frames": merge_frames, "merge_airtime_s": round(merge_air, 2),
        "store_digest": n["w1"].digests()[0][:16], "state_digest": n["w1"].digests()[1][:16],
        "peak_duty_cycle_percent": round(peak, 3),
    }
    made_w, made_e = len(made["west"]), len(made["east"])
    report.story = [
        f"{len(names)} nodes in two neighbourhoods of 5, cut apart for {D // 3600} hours.",
        f"While apart, the west side made {made_w} entries and the east side {made_e} "
        f"({entry_bytes} bytes of entries in all); each side kept deciding on its own.",
        (f"After the heal, every node held the same log within {took / 60:.0f} minutes" if took is not None
         else f"After the heal, the nodes had not converged within {MERGE_LIMIT_S / 60:.0f} minutes")
        + f": the merge sent {merge_bytes} bytes in {merge_frames} radio frames, {merge_air:.0f} s on the air "
        f"({report.summary['merge_bytes_per_new_entry_byte']} bytes sent per byte of new entries).",
        f"The busiest radio used {peak:.2f} % of its hour (the limit is {DUTY_LIMIT} %).",
    ]
    report.degraded = [f"For {D // 3600} hours neither side saw the other's entries ({made_w} west, "
                       f"{made_e} east): the shared proposal's tally differed across the cut until the heal."]
    world.close()
    return report

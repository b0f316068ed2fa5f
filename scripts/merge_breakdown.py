"""Where a merge's airtime goes: run one ``run_merge`` case and break the merge's airtime
down by frame kind, by waste and by time.

    .venv/bin/python scripts/merge_breakdown.py scatter 1      # 50 nodes LONG_FAST, 50 per side
    .venv/bin/python scripts/merge_breakdown.py drill 1        # 24 nodes SHORT_FAST, 200 per side

Counted from the heal on, on every transmission of the mesh (fragments charged to the frame
they carry):
- kinds: beacons, each sync message kind, entry frames, others (ACKs, alert floods);
- entry frames: *repeat* when the same sender had sent each of its entries before, *unneeded*
  when no neighbour that can decode the sender lacked any of its entries as it went on air;
- receptions: decodable receptions lost to collisions (or half duplex), per kind;
- entry frames: how many neighbours lacked their entries as they went out, and how many of
  those got them; the wait of each frame in the node's sync queue; the nodes that sent most.
A diagnostic aid, not a bench: the figures that count are ``fieldkit bench mesh``'s.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict

from codec import DecodeError, split_entries
from codec.entry import decode_entry_prefix
from codec.frames import FrameType
from fieldkit.scenario import merge as merge_mod
from fieldkit.scenario.world import World
from radio.sim.link import SimLink
from radio.sim.mac import RadioLayer
from radio.sim.mesh import Mesh
from sync.messages import decode_frame_head

BUCKET_S = 300.0


def _entry_keys(frame: bytes) -> list[tuple[bytes, int]]:
    try:
        raws = split_entries(frame)
    except DecodeError:
        return []
    out = []
    for raw in raws:
        u, _ = decode_entry_prefix(raw)
        out.append((u.author_tag, u.seq))
    return out


def main(layout: str = "scatter", seed: int = 1) -> None:
    state: dict = {"on": False, "t0": 0.0, "cur": None}
    kind_of: dict[tuple[int, int], tuple[str, tuple]] = {}  # (sender, packet id) -> (class, entry keys)
    air: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    bucket: dict[int, Counter[str]] = defaultdict(Counter)
    rx_ok: Counter[str] = Counter()
    rx_lost: Counter[str] = Counter()
    sent_by: dict[int, set] = defaultdict(set)  # node num -> entry keys it broadcast
    world_ref: dict = {}
    per_entry_sends: Counter[tuple] = Counter()

    orig_link_send = SimLink.send
    orig_mesh_send = Mesh.send

    def link_send(self, frame, dest, priority, want_ack=False, local=False, hop_limit=None):  # type: ignore[no-untyped-def]
        if frame[:1] == bytes((FrameType.BEACON,)):
            cls, keys = "beacon", ()
        elif frame[:1] == bytes((FrameType.SYNC,)):
            try:
                cls = "sync:" + decode_frame_head(frame).kind.name
            except DecodeError:
                cls = "sync:?"
            keys = ()
        elif frame[0] >> 4 == 1:
            keys = tuple(_entry_keys(frame))
            cls = "entries:" + ("local" if local else "flood")
        else:
            cls, keys = "other", ()
        if state["on"] and frame in state["put_at"]:
            state["wait"] = world_ref["w"].now - state["put_at"].pop(frame)
        else:
            state["put_at"].pop(frame, None)
            state["wait"] = None
        state["cur"] = (cls, keys)
        try:
            orig_link_send(self, frame, dest, priority, want_ack, local, hop_limit)
        finally:
            state["cur"] = None

    def mesh_send(self, sender, payload, dest=0xFFFFFFFF, **kw):  # type: ignore[no-untyped-def]
        pid = orig_mesh_send(self, sender, payload, dest, **kw)
        if state["cur"] is not None:
            kind_of[(sender, pid)] = state["cur"]
            state.setdefault("wait_of", {})[(sender, pid)] = state.get("wait")
        return pid

    from fieldkit.node.syncqueue import SyncQueue
    orig_put = SyncQueue.put
    put_at: dict[bytes, float] = {}

    def put(self, frame, dest, owner, now):  # type: ignore[no-untyped-def]
        put_at.setdefault(frame, now)
        return orig_put(self, frame, dest, owner, now)

    SyncQueue.put = put  # type: ignore[method-assign]
    waits: dict[str, list[float]] = defaultdict(list)
    state["put_at"] = put_at
    state["waits"] = waits
    SimLink.send = link_send  # type: ignore[method-assign]
    Mesh.send = mesh_send  # type: ignore[method-assign]

    def on_transmit(num, packet):  # type: ignore[no-untyped-def]
        if not state["on"]:
            return
        w = world_ref["w"]
        cls, keys = kind_of.get(packet.key, ("other(ack/radio)", ()))
        if packet.sender != num:
            cls = "relay:" + cls
        label = cls
        if keys and packet.sender == num:
            node = w.by_num[num]
            keys_set = set(keys)
            repeat = keys_set <= sent_by[num]
            if not repeat:
                sent_by[num] |= keys_set
            for k in keys:
                per_entry_sends[k] += 1
            lacking = False
            for lk in w.mesh.channel.neighbours(num):
                if not lk.decodable or lk.receiver not in w.by_num:
                    continue
                store = w.by_num[lk.receiver].store
                if any(not _holds(store, k) for k in keys):
                    lacking = True
                    break
            _ = node
            label = cls + (":repeat" if repeat else ":first") + ("" if lacking else ":unneeded")
        w_ = state.get("wait_of", {}).get(packet.key)
        if w_ is not None:
            waits[label].append(w_)
        air[label] += packet.airtime
        kind = label.split(":")[0] + (":" + label.split(":")[1] if label.startswith("sync") else "")
        by_node[w.by_num[num].name][kind] += packet.airtime
        frames[label] += 1
        bucket[int((w.mesh.now - state["t0"]) // BUCKET_S)][cls.split(":")[0]] += packet.airtime

    orig_tx_end = RadioLayer._on_tx_end

    def tx_end(self, node, packet, arrivals):  # type: ignore[no-untyped-def]
        if state["on"]:
            cls, keys_ = kind_of.get(packet.key, ("other(ack/radio)", ()))
            if keys_ and packet.sender == node.num:
                w = world_ref["w"]
                lacking = [rn for rn, rec in arrivals if rec.decodable and rn.num in w.by_num
                           and any(not _holds(w.by_num[rn.num].store, k) for k in keys_)]
                got = [rn for rn, rec in arrivals if rec.decodable and not rec.lost and rn in lacking]
                useful["frames"] += 1
                useful["lacking"] += len(lacking)
                useful["delivered"] += len(got)
                useful[f"lacking={min(len(lacking), 6)}"] += 1
            cls = cls.split(":")[0] + (":" + cls.split(":")[1] if cls.startswith("sync") else "")
            for _rx_node, rec in arrivals:
                if not rec.decodable:
                    continue
                if rec.lost:
                    rx_lost[cls] += 1
                else:
                    rx_ok[cls] += 1
        orig_tx_end(self, node, packet, arrivals)

    RadioLayer._on_tx_end = tx_end  # type: ignore[method-assign]

    id_of: dict[tuple[bytes, int], bytes] = {}
    useful: Counter[str] = Counter()
    by_node: dict[str, Counter[str]] = defaultdict(Counter)

    def _holds(store, k):  # type: ignore[no-untyped-def]
        eid = id_of.get(k)
        return eid is None or store.get(eid) is not None

    orig_heal = World.heal

    def heal(self):  # type: ignore[no-untyped-def]
        world_ref["w"] = self
        from codec.keys import author_tag
        for n in self.nodes.values():
            for e in n.store.entries(signatures=False):
                id_of[(author_tag(e.author), e.seq)] = e.id
        self.mesh.on_transmit = on_transmit
        state["on"] = True
        state["t0"] = self.mesh.now
        orig_heal(self)

    World.heal = heal  # type: ignore[method-assign]

    started = time.perf_counter()
    if layout == "drill":
        run = merge_mod.run_merge("drill", seed, n=200, nodes=24, preset="SHORT_FAST")
    else:
        run = merge_mod.run_merge("scatter", seed, n=50, nodes=50, preset="LONG_FAST")
    wall = time.perf_counter() - started
    total = sum(air.values())
    print(f"{layout} seed {seed}: {run.bytes_per_new_byte:.2f} B/B (floor {run.floor_per_new_byte:.2f}), "
          f"converged {run.converged_s}, merge airtime {run.merge_airtime_s:.0f} s "
          f"(floor {run.floor_airtime_s:.0f} s), sessions {run.sessions}, wall {wall:.0f} s")
    print(f"\n{'class':48s} {'frames':>7s} {'air_s':>8s} {'share':>6s}")
    for label, a in sorted(air.items(), key=lambda x: -x[1]):
        print(f"{label:48s} {frames[label]:7d} {a:8.1f} {a / total:6.1%}")
    print(f"{'total':48s} {sum(frames.values()):7d} {total:8.1f}")
    import statistics
    for label, ws in sorted(waits.items()):
        p90 = sorted(ws)[int(len(ws) * 0.9)]
        print(f"wait in sync queue {label:40s} n={len(ws):5d} median {statistics.median(ws):6.1f} s  p90 {p90:6.1f} s")
    print(f"\n{'receptions (decodable)':28s} {'ok':>7s} {'lost':>7s} {'lost%':>6s}")
    for cls in sorted(set(rx_ok) | set(rx_lost)):
        ok, lost = rx_ok[cls], rx_lost[cls]
        print(f"{cls:28s} {ok:7d} {lost:7d} {lost / max(ok + lost, 1):6.1%}")
    print("\nentry frames sent:", dict(sorted(useful.items())))
    top = sorted(by_node.items(), key=lambda kv: -sum(kv[1].values()))[:6]
    print("\nnodes that sent most (s on air by kind):")
    for name, c in top:
        print(f"  {name}: {sum(c.values()):6.1f} s", {k: round(v, 1) for k, v in c.most_common(6)})
    sends = Counter(per_entry_sends.values())
    print("\nsends per new entry (own first/repeat broadcasts over all senders):",
          dict(sorted(sends.items())[:20]))
    print(f"\nairtime per {BUCKET_S:.0f} s after the heal:")
    kinds = sorted({k for c in bucket.values() for k in c})
    print("bucket " + " ".join(f"{k:>10s}" for k in kinds))
    for b in sorted(bucket):
        print(f"{b:6d} " + " ".join(f"{bucket[b][k]:10.1f}" for k in kinds))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "scatter", int(sys.argv[2]) if len(sys.argv) > 2 else 1)

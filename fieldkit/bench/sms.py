"""`fieldkit bench sms`: what SMS costs — parts per reply, a vote per binary SMS, SMS per sync, driver speed.

The driver figures run the real driver against the pty emulator (real serial I/O), so they
measure this code's overhead, not a GSM network's (which adds seconds per SMS).
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from codec import KeyPair, kinds, sign_entry
from codec.frames import FrameType, encode_frame
from fieldkit.bench.report import Figure
from fieldkit.sms.replies import TEMPLATES, render
from radio.sms.seal import INNER_MTU, OVERHEAD
from radio.sms.segment import count_parts, fold_to_gsm7

_VALUES = dict(what="Vote", proposal="3fa2c1", option="si", alert="7c7c7c", eta=15, mandate="9b9b9b",
               assembly="Calle Mayor", minutes=15, reason="unknown command", help="VOTE <proposal> <option> <PIN>",
               example="VOTE 3fa2c1 yes 1234", text="eviction at Mayor 12", alerts=1, alert_list="",
               proposals=1, proposal_list="", id="3fa2c1", options="si/no", when="02/12 18:00 CET",
               closes="Cierra 02/12 18:00 CET.", outcome="aprobada (si)")


def _reply_parts() -> list[Figure]:
    worst = max(count_parts(render(lang, name, **_VALUES)) for lang, table in TEMPLATES.items() for name in table)
    sample = "Sí, votación recibida: opción «sí» para la propuesta 3fa2c1. Gracias por participar, asamblea."
    return [
        Figure("reply_parts_max", worst, "SMS", "<= 1", {"templates": sum(len(t) for t in TEMPLATES.values())}),
        Figure("accented_reply_parts_ucs2", count_parts(sample), "SMS", None, {"chars": len(sample)}),
        Figure("accented_reply_parts_folded", count_parts(fold_to_gsm7(sample)), "SMS", None),
    ]


def _vote_size() -> list[Figure]:
    key = KeyPair.generate()
    first = sign_entry(key, 0, None, 1_800_000_000, kinds.Ballot(bytes(6), 1))
    later = sign_entry(key, 5, first.id, 1_800_000_100, kinds.Ballot(bytes(6), 1))
    frame = encode_frame(FrameType.ENTRY, later.encode(with_key=False))
    # between nodes every SMS is sealed (radio/sms/seal.py): 20 of its 140 bytes are the counter and MAC
    return [Figure("signed_vote_frame_bytes", len(frame), "bytes", f"<= {INNER_MTU}",
                   {"sealed_sms_bytes": len(frame) + OVERHEAD})]


def _sync_sms() -> list[Figure]:
    from sync.fixtures import author_keys, make_chains
    from sync.pair import run_pair
    from sync.store import Store

    rng = random.Random(11)
    chains = make_chains(author_keys(8, 11), 200, rng)
    entries = [e for c in chains.values() for e in c]
    missing = set(rng.sample(range(len(entries)), 10))

    def store(keep) -> Store:
        s, seen, raws = Store.memory(), set(), []
        for e in keep:
            raws.append(e.encode(with_key=e.author not in seen))
            seen.add(e.author)
        s.add_many(raws, 0)
        return s

    a = store(e for i, e in enumerate(entries) if i not in missing)
    b = store(entries)
    sa, sb = run_pair(a, b, INNER_MTU)
    return [Figure("sync_sms_for_10_missing_of_200", sa.stats.frames_sent + sb.stats.frames_sent, "SMS", None,
                   {"converged": sa.converged})]


def _driver() -> list[Figure]:
    from radio.sms import GsmModem, ModemConfig
    from radio.sms.emulator import EmulatedModem
    from radio.sms.network import PhoneNetwork

    count = 40
    network = PhoneNetwork()
    emulator = EmulatedModem("+10000000001", network, slots=50)
    phone = network.add_phone("+10000000099")
    got: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = ModemConfig(emulator.port, poll=0.01, sweep_interval=1.0, send_interval=0.0)
        modem = GsmModem(config, Path(tmp), lambda m: got.append(time.monotonic()))
        modem.start()
        deadline = time.monotonic() + 10
        while not modem.stats.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        network.holding = True
        for i in range(count):
            phone.send("+10000000001", f"STATUS {i}")
        start = time.monotonic()
        network.release()
        while len(got) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        modem.stop()
    emulator.close()
    return [Figure("burst_received", len(got), "messages", f">= {count}", {"burst": count}),
            Figure("burst_receive_rate", round(len(got) / elapsed, 1), "messages/s", None,
                   {"note": "pty emulator, persisted to sqlite before AT+CMGD"})]


def run() -> list[Figure]:
    return [*_reply_parts(), *_vote_size(), *_sync_sms(), *_driver()]

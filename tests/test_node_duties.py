"""What a running node does for the rules (fieldkit/node/duties.py): alert policy on the
radio relay, and seals signed unattended.

Before: the node core pushed every alert-kind entry at ALERT priority and flooded it
again, so a stranger's one-person assembly could put "DO NOT GO, meet at Plaza Sol" on
every radio ahead of real alerts (issues 12 and 13); and only the CLI sealed closed
proposals, so a node left running judged late ballots from its operator's typing.
"""

from __future__ import annotations

from pathlib import Path

from codec import KeyPair, kinds
from fieldkit.home import Home
from fieldkit.node.bus import NodeBus
from fieldkit.node.core import NodeCore, push_frame
from fieldkit.node.duties import Duties
from fieldkit.nodestore import open_node_store
from radio.outbox import Priority

T0 = 1_790_000_000


class Port:
    mtu = 233

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Priority]] = []

    def send(self, frame: bytes, dest: str | None, priority: Priority, want_ack: bool, local: bool = False) -> None:
        self.sent.append((frame, priority))


def _home(tmp_path: Path):
    home = Home(tmp_path / "node")
    home.create("base", None)
    key = home.keypair(None)
    store = open_node_store(home)
    asm = store.append_own(key, kinds.AssemblyFound("Calle Mayor", "housing", 1), T0)
    return key, store, asm


def test_a_strangers_alert_is_relayed_as_an_ordinary_entry_and_a_members_as_an_alert(tmp_path: Path) -> None:
    key, store, asm = _home(tmp_path)
    now = [T0 + 100]
    duties = Duties(store, key, lambda: now[0])
    stranger = KeyPair(b"\x55" * 32)
    theirs = store.append_own(stranger, kinds.AssemblyFound("Totally Real Tenants", "housing", 1), T0 + 10)
    fake = store.append_own(stranger, kinds.AlertRaise(theirs.ref, T0 + 3600, "DO NOT GO, meet at Plaza Sol"), T0 + 20)
    real = store.append_own(key, kinds.AlertRaise(asm.ref, T0 + 3600, "Desalojo en Mayor 12, ahora"), T0 + 30)
    assert duties.alert_policy(fake) == "no"
    assert duties.alert_policy(real) == "counts"

    core = NodeCore(store, NodeBus(), seed=b"duties")
    core.alert_policy = duties.alert_policy
    port = Port()
    core.add_link("radio", port)
    core.tick(now[0])
    core.publish_local([fake, real])
    sent = {frame: priority for frame, priority in port.sent}
    assert sent[push_frame(real)] is Priority.ALERT
    assert sent[push_frame(fake)] is Priority.OTHER  # kept and synced, never ahead of real alerts
    assert len(core._repeats) == 1 and core._repeats[0][1].id == real.id  # only the real one is flooded again
    store.close()


def test_the_node_seals_a_closed_proposal_once(tmp_path: Path) -> None:
    key, store, asm = _home(tmp_path)
    prop = store.append_own(key, kinds.Proposal(asm.ref, T0 + 7200, 1, 50, ("yes", "no"), "Paint the door?"),
                            T0 + 100)
    ballot = store.append_own(key, kinds.Ballot(prop.ref, 0), T0 + 200)
    now = [T0 + 300]
    duties = Duties(store, key, lambda: now[0])
    assert duties.seal() == []  # still open: nothing to seal
    now[0] = T0 + 7300
    sealed = duties.seal()
    assert [e.kind for e in sealed] == [kinds.Kind.SEAL]
    assert sealed[0].body.ballots == (ballot.ref,)
    assert duties.seal() == []  # sealed once
    store.close()


def test_the_node_seals_a_passed_deadline_once(tmp_path: Path) -> None:
    """A node left running seals an alert's expiry (rules_deadlines.py) with the answers it held."""
    key, store, asm = _home(tmp_path)
    alert = store.append_own(key, kinds.AlertRaise(asm.ref, T0 + 3600, "Desalojo en Mayor 12, ahora"), T0 + 100)
    ack = store.append_own(key, kinds.AlertAck(alert.ref, kinds.AckStatus.COMING, 0), T0 + 200)
    now = [T0 + 300]
    duties = Duties(store, key, lambda: now[0])
    assert duties.seal() == []  # still open
    now[0] = T0 + 4000
    sealed = duties.seal()
    assert [e.kind for e in sealed] == [kinds.Kind.DEADLINE_SEAL]
    assert sealed[0].body.object == alert.ref and sealed[0].body.acts == (ack.ref,)
    assert sealed[0].time - sealed[0].body.ago == T0 + 3600  # the alert's expiry
    assert duties.seal() == []  # sealed once
    store.close()


def test_an_alert_the_policy_cannot_judge_still_goes_out_as_an_alert(tmp_path: Path) -> None:
    key, store, asm = _home(tmp_path)
    real = store.append_own(key, kinds.AlertRaise(asm.ref, T0 + 3600, "Desalojo en Mayor 12, ahora"), T0 + 30)
    core = NodeCore(store, NodeBus(), seed=b"duties")

    def broken(entry: object) -> str:
        raise RuntimeError("the view is being rebuilt")

    core.alert_policy = broken
    port = Port()
    core.add_link("radio", port)
    core.tick(T0 + 100)
    core.publish_local([real])
    assert (push_frame(real), Priority.ALERT) in port.sent
    store.close()

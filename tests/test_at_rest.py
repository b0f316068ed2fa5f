"""A seized home yields nothing (issue 17): a scripted day of use, then every byte of the home is read.

The day runs the real `fieldkit` commands as processes and `node run` on two real links at
once — an emulated Meshtastic radio (the real meshtastic library over TCP) and an emulated
GSM modem with a member's phone — on a passphrase-protected home.  Afterwards every file
under the home (log, views, identity, vault, outboxes, SMS inbox, queue, subscribers, WAL
files…) is searched for what someone holding the SD card must not learn: alert text, names,
the phone number (as text and as the semi-octets of a PDU), the PIN, a ballot option, the
node's key seed and the seed it holds for the phone member.  Then `panic` runs, and the right
passphrase no longer opens anything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from radio.air import InstantAir
from radio.emulator.server import EmulatorServer
from radio.sms.emulator import EmulatedModem
from radio.sms.network import PhoneNetwork
from tests.test_node_run import json_of, wait_for

NODE = "+34600000001"
ANA = "+34600000011"
PASSPHRASE = "lentejas con chorizo"
PIN = "4821"


def run(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "FIELDKIT_HOME"}
    full.update({"FIELDKIT_PASSPHRASE": PASSPHRASE, **(env or {})})
    return subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=90, env=full, stdin=subprocess.DEVNULL)


def semi_octets(number: str) -> bytes:
    """How a number sits in a PDU (3GPP TS 23.040 9.1.2.3): digits swapped in pairs, F-padded."""
    digits = number.lstrip("+")
    if len(digits) % 2:
        digits += "F"
    return "".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2)).encode()


def every_file(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def leaks(files: dict[str, bytes], secrets: dict[str, bytes]) -> list[str]:
    found = []
    for name, data in files.items():
        lowered = data.lower()
        for what, secret in secrets.items():
            for form in {secret, secret.lower(), secret.hex().encode()}:
                if form in data or form in lowered:
                    found.append(f"{what} in {name}")
    return found


def test_a_scripted_day_leaves_no_plaintext_then_panic_shreds(tmp_path: Path) -> None:
    from fieldkit.home import Home, forget
    from fieldkit.sms.subscribers import Subscribers

    home = tmp_path / "base"
    json_of(run(home, "init", "--name", "Calle Mayor base", "--json"))
    assembly = json_of(run(home, "assembly", "create", "Eastside Tenants", "--need", "housing",
                           "--vouch-threshold", "1", "--json"))["id"]
    ana_key = json_of(run(home, "sms", "enrol", ANA, "--language", "en", "--name", "Ana Torres", "--assembly",
                          assembly[:8], "--json", env={"FIELDKIT_SMS_PIN": PIN}))["public_key"]
    json_of(run(home, "member", "vouch", assembly[:8], ana_key, "--json"))
    proposal = json_of(run(home, "propose", assembly[:8], "Rent strike in March", "--option", "huelga",
                           "--option", "esperar", "--closes", "+2d", "--json"))["id"]

    network = PhoneNetwork()
    modem = EmulatedModem(NODE, network)
    ana = network.add_phone(ANA)
    server = EmulatorServer(InstantAir())
    radio = server.add_node(0xFC000021, "base", "B")
    server.add_node(0xFC000022, "peer", "P")  # a second radio on the air: frames really go out
    log = tmp_path / "node.log"
    env = {k: v for k, v in os.environ.items() if k != "FIELDKIT_HOME"} | {"FIELDKIT_PASSPHRASE": PASSPHRASE}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "--home", str(home), "node", "run", "--link", radio.tcp_spec,
         "--link", f"sms:{modem.port}", "--sync-interval", "5", "-v"],
        stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env, stdin=subprocess.DEVNULL,
    )
    try:
        ana.send(NODE, f"VOTE {proposal[:6]} huelga {PIN}")
        assert ana.wait_for(lambda got: any("counted" in r.text.lower() for r in got), timeout=60), (
            ana.texts(), log.read_text())
        alert = json_of(run(home, "alert", "raise", assembly[:8], "Eviction at 14 Calle Mayor, now", "--json"))["id"]
        assert ana.wait_for(lambda got: any("Calle Mayor" in r.text for r in got), timeout=60), log.read_text()
        ana.send(NODE, f"ACK {alert[:6]} COMING")

        def ana_is_coming() -> bool:
            alerts = json_of(run(home, "alert", "list", "--json"))["alerts"]
            return any(a["id"] == alert and a["coming"] for a in alerts)

        assert wait_for(ana_is_coming, timeout=30), log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        server.stop()
    assert code == 0, log.read_text()
    tally = json_of(run(home, "tally", proposal[:8], "--json"))
    assert tally["counts"].get("huelga") == 1  # the day really happened

    forget(Home(home))
    unlocked = Home(home).unlock(PASSPHRASE)
    subs = Subscribers(home, unlocked.keypair, unlocked.sealer)
    held_seed = subs.member_key(subs.get(ANA)).seed
    subs.close()
    secrets = {
        "alert text": b"Eviction at 14",
        "street": b"Calle Mayor",
        "member name": b"Ana Torres",
        "assembly name": b"Eastside Tenants",
        "proposal text": b"Rent strike",
        "ballot option": b"huelga",
        "phone number": ANA.lstrip("+").encode(),
        "phone number in a PDU": semi_octets(ANA),
        "PIN in a message": f"huelga {PIN}".encode(),
        "node seed": unlocked.keypair.seed,
        "held member seed": held_seed,
    }
    files = every_file(home)
    assert any(name.startswith("sms/modem/inbox.sqlite") for name in files)  # the files the day wrote are there
    assert any(name.startswith("outbox/") for name in files)
    assert leaks(files, secrets) == []
    assert ANA.lstrip("+") not in log.read_text()  # the node's log names senders by a keyed hash
    assert "4821" not in log.read_text()

    # panic: the keys are gone, the right passphrase opens nothing
    done = run(home, "panic", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["shred_s"] < 1.0
    forget(Home(home))
    after = run(home, "status")
    assert after.returncode == 1 and "panic" in after.stderr
    fresh = run(home, "init", "--name", "again", "--json")  # a panicked node can be set up again
    assert fresh.returncode == 0, fresh.stderr


def test_panic_keeps_files_but_nothing_opens(tmp_path: Path) -> None:
    """Only the shred step: every other file is left, and the right passphrase opens none of it."""
    from fieldkit.home import Home, Panicked, forget
    from fieldkit.vault import PANIC_FILE
    from sync.store import Store

    home = tmp_path / "base"
    json_of(run(home, "init", "--name", "n", "--json"))
    json_of(run(home, "assembly", "create", "Eastside Tenants", "--need", "housing", "--json"))
    sealer = Home(home).unlock(PASSPHRASE).sealer
    before = every_file(home)
    done = run(home, "panic", "--keep-files", "--json")
    assert done.returncode == 0, done.stderr
    after = every_file(home)
    assert "vault.json" in before and "vault.json" not in after and PANIC_FILE in after
    assert set(after) - {PANIC_FILE} == set(before) - {"vault.json"}
    forget(Home(home))
    try:
        Home(home).unlock(PASSPHRASE)
        raise AssertionError("a panicked home opened")
    except Panicked as exc:
        assert "panic" in exc.reason
    # the sealed files are intact ciphertext: only the destroyed key could open them
    with Store.open(home / "store", sealer=sealer, create=False) as store:
        assert len(store) == 1  # (the key from before panic still works: it existed only in this test's memory)

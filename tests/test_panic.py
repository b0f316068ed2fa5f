"""Panic from each trigger (issue 17), and a node that boots locked.

Unit parts (the signed frame, the button, the panicker) run in-process; every trigger is
then exercised on a real `node run` process: `fieldkit panic` through the key agent, a
GPIO button (its value file), a duress PIN by SMS from an enrolled phone, and a signed
panic frame over the (emulated) radio from a key the operator named.  Each ends with the
node gone (exit 75) and a home that no longer opens.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codec import DecodeError, KeyPair, VerifyError
from codec.panic import WINDOW_S, encode_panic, verify_panic
from fieldkit.node.panicking import EXIT_PANICKED, GpioButton, Panicker, PanicWatch
from fieldkit.vault import PANIC_FILE, VAULT_FILE
from radio.air import InstantAir
from radio.emulator.server import EmulatorServer
from tests.test_node_run import json_of, wait_for

PASS = "el barrio no se vende"


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("FIELDKIT_HOME", "FIELDKIT_PASSPHRASE")}
    return base | extra


def cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=90, env=env(**extra), stdin=subprocess.DEVNULL)


def start(home: Path, link: str, log: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fieldkit", "--home", str(home), "node", "run", "--link", link,
                             "--sync-interval", "5"], stdout=subprocess.DEVNULL, stderr=log.open("w"),
                            env=env(**extra), stdin=subprocess.DEVNULL)


def assert_panicked(proc: subprocess.Popen, home: Path, log: Path) -> None:
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the node did not panic: " + log.read_text()) from None
    assert code == EXIT_PANICKED, log.read_text()
    assert "PANIC" in log.read_text()
    assert not (home / VAULT_FILE).exists() and (home / PANIC_FILE).exists()
    refused = cli(home, "status", FIELDKIT_PASSPHRASE=PASS)
    assert refused.returncode == 1 and "panic" in refused.stderr


@pytest.fixture
def radios():
    server = EmulatorServer(InstantAir())
    devices = server.add_node(0xFC000031, "a", "A"), server.add_node(0xFC000032, "b", "B")
    yield devices
    server.stop()


# --- in-process parts ------------------------------------------------------------------


def test_panic_frame_is_obeyed_only_from_a_named_key_for_this_node_and_now() -> None:
    boss, stranger, node = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    now = 1_800_000_000
    frame = encode_panic(boss, node.key_id, now)
    assert len(frame) <= 140  # one binary SMS, one LoRa frame
    assert verify_panic(frame, [boss.public_key], node.public_key, now + 5) == boss.public_key
    with pytest.raises(VerifyError, match="not signed by a key"):
        verify_panic(encode_panic(stranger, node.key_id, now), [boss.public_key], node.public_key, now)
    with pytest.raises(VerifyError, match="another node"):
        verify_panic(frame, [boss.public_key], stranger.public_key, now)
    with pytest.raises(VerifyError, match="replay"):
        verify_panic(frame, [boss.public_key], node.public_key, now + WINDOW_S + 1)
    tampered = bytearray(frame)
    tampered[5] ^= 1
    with pytest.raises(VerifyError):
        verify_panic(bytes(tampered), [boss.public_key], node.public_key, now)
    with pytest.raises(DecodeError):
        verify_panic(frame[:-1], [boss.public_key], node.public_key, now)


def test_gpio_button_must_be_held(tmp_path: Path) -> None:
    value = tmp_path / "value"
    value.write_text("1\n")
    button = GpioButton(value, active=0, hold_s=2.0)
    assert not button.pressed(0.0)
    value.write_text("0\n")
    assert not button.pressed(1.0)
    assert not button.pressed(2.5)  # held 1.5 s
    value.write_text("1\n")
    assert not button.pressed(3.1)  # released: starts over
    value.write_text("0\n")
    assert not button.pressed(4.0)
    assert button.pressed(6.0)
    value.unlink()
    assert not GpioButton(value).pressed(10.0)  # no such line: never a press


def test_panicker_shreds_then_wipes_then_exits(tmp_path: Path) -> None:
    from fieldkit.home import Home

    home = Home(tmp_path / "n")
    home.create("n", None)
    exits: list[int] = []
    watch = PanicWatch(Panicker(home.path, logging.getLogger("test"), exits.append), None)
    assert watch.check() is None
    watch.panicker.trigger("test")
    watch.panicker.trigger("again")  # only the first acts
    assert exits == [EXIT_PANICKED]
    assert sorted(p.name for p in home.path.rglob("*")) == [PANIC_FILE]


# --- every trigger on a running node ------------------------------------------------------


def test_locked_boot_then_unlock_then_panic_command(tmp_path: Path, radios) -> None:
    home, log = tmp_path / "n", tmp_path / "n.log"
    json_of(cli(home, "init", "--name", "relay", "--json", FIELDKIT_PASSPHRASE=PASS))
    proc = start(home, radios[0].tcp_spec, log)  # no passphrase, no terminal: it waits locked
    try:
        assert wait_for(lambda: "waiting for `fieldkit unlock`" in log.read_text(), timeout=30), log.read_text()
        assert proc.poll() is None
        wrong = cli(home, "unlock", FIELDKIT_PASSPHRASE="not it")
        assert wrong.returncode == 1 and "wrong passphrase" in wrong.stderr
        done = cli(home, "unlock", "--json", FIELDKIT_PASSPHRASE=PASS)
        assert done.returncode == 0, done.stderr
        assert wait_for(lambda: "running on" in log.read_text(), timeout=30), log.read_text()
        who = cli(home, "whoami", "--json")  # no passphrase: the running node's agent answers
        assert who.returncode == 0 and json.loads(who.stdout)["name"] == "relay", who.stderr
        started = time.monotonic()
        panicked = cli(home, "panic", "--json")
        assert panicked.returncode == 0, panicked.stderr
        # The node is told through its agent, unless its own watch saw the vault vanish first
        # and it is gone already: either way it must have panicked.
        assert isinstance(json.loads(panicked.stdout)["node_told"], bool)
        assert_panicked(proc, home, log)
        assert time.monotonic() - started < 15
    finally:
        if proc.poll() is None:
            proc.kill()


def test_gpio_button_panics_the_running_node(tmp_path: Path, radios) -> None:
    home, log, line = tmp_path / "n", tmp_path / "n.log", tmp_path / "gpio17"
    line.write_text("1\n")
    json_of(cli(home, "init", "--name", "n", "--no-passphrase", "--json"))
    (home / "node.toml").write_text(f'[panic]\ngpio = "{line}"\ngpio_active = 0\ngpio_hold_s = 0.5\n')
    proc = start(home, radios[0].tcp_spec, log)
    try:
        assert wait_for(lambda: "running on" in log.read_text(), timeout=30), log.read_text()
        line.write_text("0\n")  # pressed and held
        assert_panicked(proc, home, log)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_signed_panic_frame_over_the_radio(tmp_path: Path, radios) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a_key = json_of(cli(a, "init", "--name", "trusted", "--json", FIELDKIT_PASSPHRASE=PASS))
    b_id = json_of(cli(b, "init", "--name", "field", "--json", FIELDKIT_PASSPHRASE=PASS))["key_id"]
    (b / "node.toml").write_text(f'[panic]\nkeys = ["{a_key["public_key"]}"]\n')
    logs = tmp_path / "a.log", tmp_path / "b.log"
    procs = [start(a, radios[0].tcp_spec, logs[0], FIELDKIT_PASSPHRASE=PASS),
             start(b, radios[1].tcp_spec, logs[1], FIELDKIT_PASSPHRASE=PASS)]
    try:
        for log in logs:
            assert wait_for(lambda log=log: "running on" in log.read_text(), timeout=30), log.read_text()
        time.sleep(2)  # both radios connected
        sent = cli(a, "panic", "--node", b_id, "--json")
        assert sent.returncode == 0, sent.stderr
        assert_panicked(procs[1], b, logs[1])
        assert procs[0].poll() is None and (a / VAULT_FILE).exists()  # the sender is untouched
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)


def test_duress_pin_by_sms_panics_the_node(tmp_path: Path) -> None:
    from radio.sms.emulator import EmulatedModem
    from radio.sms.network import PhoneNetwork

    node_number, ana_number = "+34600000001", "+34600000011"
    network = PhoneNetwork()
    modem = EmulatedModem(node_number, network)
    ana = network.add_phone(ana_number)
    home, log = tmp_path / "n", tmp_path / "n.log"
    json_of(cli(home, "init", "--name", "n", "--no-passphrase", "--json"))
    json_of(cli(home, "sms", "enrol", ana_number, "--language", "en", "--json", FIELDKIT_SMS_PIN="4821"))
    same = cli(home, "sms", "duress", ana_number, FIELDKIT_SMS_DURESS_PIN="4821")
    assert same.returncode == 1 and "differ" in same.stderr
    json_of(cli(home, "sms", "duress", ana_number, "--json", FIELDKIT_SMS_DURESS_PIN="1379"))
    proc = start(home, f"sms:{modem.port}", log)
    try:
        assert wait_for(lambda: "running on" in log.read_text(), timeout=30), log.read_text()
        ana.send(node_number, "ALERT police at the door 1379")
        assert_panicked(proc, home, log)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_pulling_the_key_stick_locks_the_running_node(tmp_path: Path, radios) -> None:
    home, log, stick = tmp_path / "n", tmp_path / "n.log", tmp_path / "stick"
    stick.mkdir()
    json_of(cli(home, "init", "--name", "relay", "--key-file", str(stick / "relay.key"), "--json",
                FIELDKIT_PASSPHRASE=PASS))
    proc = start(home, radios[0].tcp_spec, log)  # no passphrase anywhere: the stick unlocks it
    try:
        assert wait_for(lambda: "running on" in log.read_text(), timeout=30), log.read_text()
        (stick / "relay.key").rename(tmp_path / "pocket.key")  # the stick is pulled
        assert proc.wait(timeout=30) == 0, log.read_text()
        assert "pulled" in log.read_text()
        locked = cli(home, "status")
        assert locked.returncode == 1 and "locked" in locked.stderr
    finally:
        if proc.poll() is None:
            proc.kill()

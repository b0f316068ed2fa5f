"""An SMS command is applied exactly once across a power cut (issue 13).

Real processes on the modem emulator's pty: a `node run` is killed (SIGKILL) right after an
SMS ALERT's entry reached the log and before the inbox marked the message handled; the
restarted `node run` gets the message again from its durable inbox.  Before, it raised
the alert a second time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from radio.sms.emulator import EmulatedModem
from radio.sms.network import PhoneNetwork
from tests.test_node_run import cli, env_without_home, json_of, wait_for

NODE = "+34600000001"
ANA, BEA = "+34600000011", "+34600000012"


def _alert_raises(home: Path) -> list[dict]:
    return json_of(cli(home, "log", "--kind", "alert_raise", "--json"))


def test_a_power_cut_mid_command_does_not_raise_the_alert_twice(tmp_path: Path) -> None:
    network = PhoneNetwork()
    modem = EmulatedModem(NODE, network)
    ana, bea = network.add_phone(ANA), network.add_phone(BEA)
    home = tmp_path / "base"
    json_of(cli(home, "init", "--name", "Calle Mayor base", "--no-passphrase", "--json"))
    assembly = json_of(cli(home, "assembly", "create", "Eastside Tenants", "--need", "housing",
                           "--vouch-threshold", "1", "--json"))["id"]
    for number in (ANA, BEA):
        enrolled = subprocess.run([sys.executable, "-m", "fieldkit", "--home", str(home), "sms", "enrol", number,
                                   "--language", "en", "--assembly", assembly[:8], "--json"], capture_output=True,
                                  text=True, timeout=60, env={**env_without_home(), "FIELDKIT_SMS_PIN": "4821"})
        key = json_of(enrolled)["public_key"]
        json_of(cli(home, "member", "vouch", assembly[:8], key, "--json"))
    run = [sys.executable, "-m", "fieldkit", "--home", str(home), "node", "run", "--link", f"sms:{modem.port}"]
    crash_log = tmp_path / "crash.log"
    crashing = subprocess.Popen([sys.executable, str(Path(__file__).with_name("sms_crash_node.py")), *run[3:]],
                                stdout=subprocess.DEVNULL, stderr=crash_log.open("w"), env=env_without_home())
    try:
        ana.send(NODE, "ALERT Eviction at 14 Calle Mayor, now 4821")
        assert crashing.wait(timeout=60) == -signal.SIGKILL, crash_log.read_text()
    finally:
        if crashing.poll() is None:
            crashing.kill()
    assert len(_alert_raises(home)) == 1  # the entry was durable when the power went
    log = tmp_path / "node.log"
    node = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env_without_home())
    try:
        # the message is delivered again from the inbox: the fan-out still happens...
        assert bea.wait_for(lambda got: any("Calle Mayor" in r.text for r in got), timeout=45), log.read_text()
        time.sleep(2.0)  # ...and nothing else comes of it
        assert len(_alert_raises(home)) == 1, log.read_text()
        assert wait_for(lambda: json_of(cli(home, "status", "--json"))["entries"] > 0)
    finally:
        node.send_signal(signal.SIGTERM)
        code = node.wait(timeout=30)
    assert code == 0, log.read_text()
    assert sum("Calle Mayor" in r.text for r in bea.received) == 1  # one alert SMS to the responder

"""`fieldkit node run --link sms:PTY` against the modem emulator on a real pty.

A phone gets help, the running node fans a CLI-raised alert out by SMS to an enrolled
responder, the responder's ACK lands in the store as an entry that came by SMS, and a
SIGTERM stops the node cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from radio.sms.emulator import EmulatedModem
from radio.sms.network import PhoneNetwork
from tests.test_node_run import cli, json_of, wait_for

NODE = "+34600000001"
ANA = "+34600000011"


def test_node_run_serves_phones_over_the_modem(tmp_path: Path) -> None:
    network = PhoneNetwork()
    modem = EmulatedModem(NODE, network)
    ana = network.add_phone(ANA)
    home = tmp_path / "base"
    json_of(cli(home, "init", "--name", "Calle Mayor base", "--no-passphrase", "--json"))
    assembly = json_of(cli(home, "assembly", "create", "Eastside Tenants", "--need", "housing",
                           "--vouch-threshold", "1", "--json"))["id"]
    os.environ["FIELDKIT_SMS_PIN"] = "4821"  # cli() passes the environment on; a PIN never goes in argv
    try:
        ana_key = json_of(cli(home, "sms", "enrol", ANA, "--language", "en", "--assembly",
                              assembly[:8], "--json"))["public_key"]
    finally:
        del os.environ["FIELDKIT_SMS_PIN"]
    json_of(cli(home, "member", "vouch", assembly[:8], ana_key, "--json"))  # the operator vouches for her
    log = tmp_path / "node.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "--home", str(home), "node", "run", "--link", f"sms:{modem.port}"],
        stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )
    try:
        ana.send(NODE, "help")
        assert ana.wait_for(lambda got: len(got) >= 1, timeout=45), log.read_text()
        alert = json_of(cli(home, "alert", "raise", assembly[:8], "Eviction at 14 Calle Mayor, now", "--json"))["id"]
        assert ana.wait_for(lambda got: any("Calle Mayor" in r.text for r in got), timeout=45), (
            ana.texts(), log.read_text())
        ana.send(NODE, f"ACK {alert[:6]} COMING")

        def ana_is_coming() -> bool:
            alerts = json_of(cli(home, "alert", "list", "--json"))["alerts"]
            return any(a["id"] == alert and a["coming"] for a in alerts)

        assert wait_for(ana_is_coming, timeout=20), "\n".join(ana.texts()) + log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, log.read_text()
    assert "node stopped" in log.read_text()
    acks = json_of(cli(home, "log", "--kind", "alert_ack", "--json"))
    assert len(acks) == 1  # made for her by the node, recorded as having come by SMS

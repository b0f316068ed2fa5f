"""`node run --web`: the web app inside the running node, on emulated radios and the real meshtastic library.

A phone signs an alert through node A's web app; node A's radio pushes it and node B,
a separate `node run` process on another emulated radio, holds it.  The operator page
shows the links and the peers heard.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.test_node_run import cli, emulator, env_without_home, json_of, wait_for  # noqa: F401 - the fixture
from tests.web_support import Phone, free_port


def test_a_phone_alert_through_node_run_web_reaches_the_other_node(tmp_path: Path, emulator) -> None:  # noqa: F811
    dev_a, dev_b = emulator
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    json_of(cli(home_a, "init", "--name", "Calle Mayor base", "--no-passphrase", "--json"))
    json_of(cli(home_b, "init", "--name", "Portal 3", "--no-passphrase", "--json"))
    assembly = json_of(cli(home_a, "assembly", "create", "Eastside", "--need", "housing",
                           "--vouch-threshold", "1", "--json"))["id"]
    port = free_port()
    logs = tmp_path / "a.log", tmp_path / "b.log"
    env = {**env_without_home(), "FIELDKIT_PASSPHRASE": "open sesame"}
    procs = [
        subprocess.Popen([sys.executable, "-m", "fieldkit", "--home", str(home_a), "node", "run", "--link",
                          dev_a.tcp_spec, "--sync-interval", "5", "--web", "--web-host", "127.0.0.1",
                          "--web-port", str(port)], stdout=subprocess.DEVNULL, stderr=logs[0].open("w"), env=env),
        subprocess.Popen([sys.executable, "-m", "fieldkit", "--home", str(home_b), "node", "run", "--link",
                          dev_b.tcp_spec, "--sync-interval", "5"], stdout=subprocess.DEVNULL,
                         stderr=logs[1].open("w"), env=env_without_home()),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        def web_up() -> bool:
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False

        assert wait_for(web_up), logs[0].read_text()
        phone = Phone(url)
        phone.get("/")
        phone.act("join", assembly=assembly, name="Ana")
        json_of(cli(home_a, "member", "vouch", assembly, phone.key.public_key.hex(), "--json"))
        time.sleep(1.1)  # not in the vouch's own second (derive.py's fold order)
        raised = phone.act("alert", assembly=assembly, text="Eviction at 14 Calle Mayor", expires_minutes=60)

        def b_has_alert() -> bool:
            listed = json_of(cli(home_b, "alert", "list", "--json"))["alerts"]
            return any(a["id"] == raised["id"] for a in listed)

        assert wait_for(b_has_alert, 90), logs[0].read_text() + logs[1].read_text()
        # the operator page, behind the passphrase, shows the running node's links and peers
        form = f"csrf={phone.csrf}&passphrase=open+sesame".encode()
        req = urllib.request.Request(url + "/operator/login", data=form, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with phone.opener.open(req, timeout=30) as r:
            page = r.read().decode()
        assert "Links" in page and dev_a.tcp_spec in page and "Peers heard" in page
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=30) for proc in procs]
    assert codes == [0, 0], logs[0].read_text() + logs[1].read_text()

"""`bench wire` side by side with LXMF: the same ballot and alert packed by Reticulum's LXMF.

Only available with the ``compare`` extra (``pip install 'fieldkit[compare]'``, i.e. ``rns``
and ``lxmf`` from PyPI); importing this module raises ImportError without them, and
``wire.py`` then leaves the comparison out.

How it is measured (docs/research/peers.md 1.1-1.2): Reticulum is started with a throw-away
configuration folder that has no interfaces and no shared instance, so nothing can be
sent or received; the real ``LXMessage.pack()`` builds the signed LXMF message and the real
``RNS.Packet.pack()`` encrypts it into the single opportunistic packet that LXMF would hand
an interface.  That packet is LXMF's "size on the air", the counterpart of our frame.

Reticulum is a process-wide singleton that installs SIGINT/SIGTERM handlers, an atexit
hook that points stdout/stderr at /dev/null, and background threads.  So the measurement
runs in a child Python process whose HOME and config folder are a temporary directory that
is deleted when it exits: nothing leaks into the calling process or outside that folder.

The LXMF content is our body's information as raw bytes with no framing (proposal ref +
option for the ballot; assembly ref + expiry + text for the alert), an empty title and no
fields: the most compact LXMF can carry it, so the comparison is generous to LXMF.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if importlib.util.find_spec("RNS") is None or importlib.util.find_spec("LXMF") is None:
    raise ImportError("the 'compare' extra (rns, lxmf) is not installed")

from codec import FieldkitError, KeyPair
from codec.frames import LORA_MTU
from codec.kinds import AlertRaise, Ballot
from fieldkit.bench.report import Figure

# No interfaces, no shared instance (so no local TCP/Unix socket), no transport, no
# discovery: Reticulum runs purely as a packing library (RNS 1.5 Reticulum.__apply_config).
RETICULUM_CONFIG = """\
[reticulum]
  enable_transport = No
  share_instance = No
  panic_on_interface_error = No

[logging]
  loglevel = 0

[interfaces]
"""

CHILD_TIMEOUT_S = 60
RESULT_FILE = "result.json"


class CompareFailed(FieldkitError):
    """The LXMF measurement could not be made (Reticulum failed to start or pack)."""


def ballot_case() -> tuple[Ballot, bytes]:
    """Our ballot as bench wire packs it, and the same information as raw LXMF content."""
    ballot = Ballot(bytes(6), 1)
    return ballot, ballot.proposal + bytes([ballot.option])


def alert_case() -> tuple[AlertRaise, bytes]:
    from fieldkit.bench.wire import NOW, _text

    alert = AlertRaise(bytes(6), NOW + 6 * 3600, _text(120))
    return alert, alert.assembly + alert.expires.to_bytes(4, "big") + alert.text.encode()


def _measure_in_child(configdir: Path, cases: dict[str, str]) -> dict[str, dict[str, int]]:
    """Runs inside the child process: start Reticulum offline, pack each case, return sizes."""
    import LXMF
    import RNS

    (configdir / "config").write_text(RETICULUM_CONFIG)
    RNS.Reticulum(configdir=str(configdir), loglevel=RNS.LOG_CRITICAL)
    RNS.loglevel = RNS.LOG_NONE
    sender = RNS.Identity()
    recipient = RNS.Identity()
    # LXMF delivery destinations are SINGLE "lxmf.delivery" (LXMF/LXMRouter.py register_delivery_identity).
    source = RNS.Destination(sender, RNS.Destination.IN, RNS.Destination.SINGLE, "lxmf", "delivery")
    destination = RNS.Destination(recipient, RNS.Destination.OUT, RNS.Destination.SINGLE, "lxmf", "delivery")
    sizes: dict[str, dict[str, int]] = {}
    for name, content_hex in cases.items():
        message = LXMF.LXMessage(destination, source, bytes.fromhex(content_hex), b"", {},
                                 desired_method=LXMF.LXMessage.OPPORTUNISTIC)
        message.timestamp = 1_780_000_000.0  # a float64 in msgpack whatever its value: 9 bytes
        message.pack()
        if message.method != LXMF.LXMessage.OPPORTUNISTIC:
            raise RuntimeError(f"{name}: LXMF chose method {message.method}, not a single opportunistic packet")
        packet = message._LXMessage__as_packet()  # what LXMRouter sends for OPPORTUNISTIC
        packet.pack()
        sizes[name] = {"packed": len(message.packed), "packet": len(packet.raw)}
    return sizes


def measure(cases: dict[str, bytes]) -> dict[str, dict[str, int]]:
    """LXMF packed size and opportunistic packet size for each named raw content."""
    package_root = str(Path(__file__).resolve().parents[2])
    with tempfile.TemporaryDirectory(prefix="fieldkit-lxmf-") as tmp:
        work = Path(tmp)
        env = dict(os.environ)
        env["HOME"] = tmp  # anything that reaches for ~ stays inside the throw-away folder
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        request = json.dumps({name: content.hex() for name, content in cases.items()})
        try:
            done = subprocess.run([sys.executable, "-m", "fieldkit.bench.lxmf_compare", tmp, request],
                                  cwd=tmp, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise CompareFailed(f"the LXMF measurement did not finish within {CHILD_TIMEOUT_S} s") from exc
        result = work / RESULT_FILE
        if done.returncode != 0 or not result.exists():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise CompareFailed(f"the LXMF measurement failed (exit {done.returncode}): {tail}")
        return json.loads(result.read_text())


def figures() -> list[Figure]:
    from fieldkit.bench.wire import frame_bytes

    key = KeyPair(bytes(32))
    ballot, ballot_content = ballot_case()
    alert, alert_content = alert_case()
    ours = {"ballot": len(frame_bytes(ballot, key)), "alert120": len(frame_bytes(alert, key))}
    what = {
        "ballot": "ref 6 B + option 1 B",
        "alert120": "ref 6 B + expiry 4 B + 120-char text",
    }
    sizes = measure({"ballot": ballot_content, "alert120": alert_content})
    out: list[Figure] = []
    for name in ("ballot", "alert120"):
        packed, packet = sizes[name]["packed"], sizes[name]["packet"]
        out.append(Figure(f"lxmf_{name}_bytes", packet, "B", None, {
            "ours_bytes": ours[name],
            "what": "opportunistic RNS packet",
            "content": what[name],
            "one_meshtastic_packet": packet <= LORA_MTU,
        }))
        out.append(Figure(f"lxmf_{name}_packed_bytes", packed, "B", None, {
            "what": "LXMessage.pack(), signed, not encrypted",
        }))
        out.append(Figure(f"lxmf_{name}_vs_ours_ratio", round(packet / ours[name], 2), "x", None, {
            "lxmf_bytes": packet, "ours_bytes": ours[name]}))
    return out


def _child_main(argv: list[str]) -> int:
    configdir = Path(argv[0])
    cases: dict[str, Any] = json.loads(argv[1])
    sizes = _measure_in_child(configdir, cases)
    (configdir / RESULT_FILE).write_text(json.dumps(sizes))
    # Skip Reticulum's atexit hook: it would persist path tables and known destinations
    # into the folder we are about to delete, and there is nothing else to clean up.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))

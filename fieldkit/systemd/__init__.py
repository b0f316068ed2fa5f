"""Files for running a node as a system service on Raspberry Pi OS (hardware.md, "Installing the node service").

``fieldkit-node.service`` is the systemd unit and ``99-fieldkit.rules`` the udev rules that
keep ModemManager away from the radio and the modem and give them stable names.  They ship
as package data; ``FILES`` is where an installed copy lives.
"""

from __future__ import annotations

from pathlib import Path

FILES = Path(__file__).resolve().parent
UNIT = FILES / "fieldkit-node.service"
UDEV_RULES = FILES / "99-fieldkit.rules"

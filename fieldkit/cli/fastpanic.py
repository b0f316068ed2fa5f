"""`fieldkit panic` shreds before the rest of the command line is even imported.

Importing every command module costs a third of a second of CPU on a Pi-class machine
and more under load; panic's first step must not wait for it (issue 17: ≤ 1 s from the
command).  ``fieldkit/cli/__init__.py`` calls :func:`shred_early` first thing: when the
process is the ``fieldkit`` command and its command is a plain ``panic`` (not ``--node``,
not ``--help``), the keys are shredded here, with nothing but fieldkit/vault.py loaded;
the panic command then reports what was done and deletes the rest.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

EARLY: dict[str, object] = {}  # what shred_early did: "destroyed" (list of paths), "shred_s"
_GLOBAL_WITH_VALUE = ("--home", "--now")


def _command_line(argv: list[str]) -> tuple[str | None, list[str]] | None:
    """(--home value, the panic command's own arguments), or None when this is not a plain panic."""
    home = None
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in _GLOBAL_WITH_VALUE and i + 1 < len(argv):
            if arg == "--home":
                home = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--home="):
            home = arg.split("=", 1)[1]
            i += 1
            continue
        if arg.startswith("--now="):
            i += 1
            continue
        break
    if i >= len(argv) or argv[i] != "panic":
        return None
    return home, argv[i + 1 :]


def shred_early(argv: list[str] | None = None) -> None:
    argv = sys.argv if argv is None else argv
    if not argv or Path(argv[0]).name not in ("fieldkit", "__main__.py"):
        return
    parsed = _command_line(argv)
    if parsed is None:
        return
    home_option, rest = parsed
    if any(a in ("--node", "-h", "--help") or a.startswith("--node=") for a in rest):
        return
    started = time.perf_counter()
    from fieldkit.vault import VAULT_FILE, shred

    if home_option:
        home = Path(home_option).expanduser()
    else:
        env = os.environ.get("FIELDKIT_HOME")
        home = Path(env).expanduser() if env else Path.home() / ".fieldkit"
    if not (home / VAULT_FILE).exists():
        return  # nothing to shred here: the command will say so
    EARLY["destroyed"] = shred(home)
    EARLY["shred_s"] = time.perf_counter() - started
    EARLY["home"] = str(home.resolve())

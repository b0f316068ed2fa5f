"""Commands start without what they do not use: the lazy command table and its imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from fieldkit.cli import COMMANDS, load_command, main

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("meshtastic", "google.protobuf", "serial", "fieldkit.cli.noderun", "fieldkit.cli.emulate", "radio.sim")


def test_the_table_names_every_command_with_its_own_help_line() -> None:
    for name, _module, _attr, line in COMMANDS:
        command = load_command(name)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == line, name
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name, *_ in COMMANDS:
        assert f"\n  {name} " in result.output


def _modules_after(*args: str, home: Path) -> set[str]:
    code = ("import sys, runpy; sys.argv = ['fieldkit', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('fieldkit', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, "--home", str(home), *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    return set(done.stderr.split())


def test_help_and_everyday_commands_import_no_radio_library(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert CliRunner().invoke(main, ["--home", str(home), "init", "--name", "n", "--no-passphrase"]).exit_code == 0
    for args in (["--help"], ["status"], ["alert", "list"], ["proposals"]):
        loaded = _modules_after(*args, home=home)
        assert "fieldkit.cli" in loaded, args
        heavy = sorted(m for m in loaded if m.startswith(HEAVY))
        assert not heavy, (args, heavy[:5])
    assert "sync.store" not in _modules_after("--help", home=home)

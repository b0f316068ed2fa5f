"""Every command of the CLI, with arguments and options drawn from its own click parameters:
real ids and their prefixes, numbers of any size, times, empty and odd text, lone
surrogates (a command line's undecodable bytes, as Python hands them over) -- the command
works or says why it does not (exit 1, or click's usage error, exit 2), never a traceback.

Commands that run services or long jobs (node, web, demo, drill, bench, emulate, panic,
unlock, key-file, passphrase) are left out: they are tested as processes elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.cli import main
from fieldkit.domain.view import domain_state
from fieldkit.home import Home
from fieldkit.nodestore import open_node_store
from tests.domain_world import T0, D
from tests.test_cli_assembly import Node
from tests.test_domain_properties import build, programs

SKIPPED = {"node", "web", "demo", "drill", "bench", "emulate", "panic", "unlock", "key-file", "passphrase", "init",
           "store"}
TRICKY = ["", " ", "-", "--", "0", "-1", "1" * 400, "1e9", "nan", "+2h", "+" + "9" * 400 + "h", "0001-01-01",
          "2026-12-01T18:00", "\udcff", "a\udcffb", "%s", "x" * 3000, "ff" * 32, "yes", "no", "coming", "66%", "0.5"]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):  # the CLI loads its commands lazily (cli/__init__.py)
        if not prefix and name in SKIPPED:
            continue
        cmd = group.get_command(ctx, name)
        if cmd is None:
            continue
        if isinstance(cmd, click.Group):
            out += _commands(cmd, (*prefix, name))
        else:
            out.append(((*prefix, name), cmd))
    return out


COMMANDS = _commands(main)


@pytest.fixture(scope="module")
def alice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, list[str]]]:
    folder = tmp_path_factory.mktemp("cli-fuzz")
    node = Node(folder, "alice")
    asm = node.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    prop = node.ok("propose", asm, "Paint the hall?", "--option", "yes", "--option", "no", "--closes", "+2h")["id"]
    alert = node.ok("alert", "raise", asm, "Bailiffs at 4 Canal St")["id"]
    ids = [asm, prop, alert, node.key_id, node.public_key]
    before = os.getcwd()
    os.chdir(folder)  # what the commands write under the names drawn (sync export FILE) stays in the test's folder
    try:
        yield node, ids + [i[:8] for i in ids]
    finally:
        os.chdir(before)


def _value(data: st.DataObject, param: click.Parameter, ids: list[str]) -> str:
    choices = getattr(param.type, "choices", None)
    pool = st.sampled_from(ids) | st.sampled_from(TRICKY) | st.text(max_size=12)
    if choices:
        pool = st.sampled_from([str(c) for c in choices]) | pool
    return data.draw(pool, label=param.name or "value")


@settings(max_examples=int(os.environ.get("CLI_FUZZ_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_every_command_answers_or_says_why_never_a_traceback(alice, data) -> None:
    node, ids = alice
    path, cmd = data.draw(st.sampled_from(COMMANDS), label="command")
    args: list[str] = []
    for param in cmd.params:
        if isinstance(param, click.Argument):
            count = 1 if param.nargs == 1 else data.draw(st.integers(0, 3), label="nargs")
            args += [_value(data, param, ids) for _ in range(count)]
        elif isinstance(param, click.Option) and param.name != "help" and data.draw(st.booleans(), label="opt"):
            flag = param.opts[0]
            if param.is_flag:
                args.append(flag)
            else:
                args += [flag, _value(data, param, ids)]
    if data.draw(st.booleans(), label="json"):
        args.append("--json")
    result = node.run(*path, *args)
    shown = (result.output or "") + (result.stderr or "")
    assert result.exception is None or isinstance(result.exception, SystemExit), (path, args, result.exception)
    assert "Traceback" not in shown, (path, args, shown[-2000:])
    assert result.exit_code in (0, 1, 2), (path, args, result.exit_code, shown[-500:])


def test_the_fuzz_covers_the_commands_people_use() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"vote", "propose", "alert raise", "alert ack", "member vouch", "sync import", "tally"} <= names
    assert not names & SKIPPED


def test_human_forms_read_names_while_the_store_is_open(tmp_path) -> None:
    """`assembly show` and `campaign list` printed names from a store they had closed already
    (sqlite3.ProgrammingError, a traceback: only their --json forms were tested)."""
    node = Node(tmp_path, "alice")
    asm = node.ok("assembly", "create", "Eastside Tenants", "--need", "housing")["id"]
    node.ok("campaign", "plan", asm[:8], "a food bank", "--closes", "+1d")
    shown = node.run("assembly", "show", asm[:8])
    assert shown.exit_code == 0 and "members (1)" in shown.output, shown.output
    listed = node.run("campaign", "list")
    assert listed.exit_code == 0 and "Eastside Tenants" in listed.output and "a food bank" in listed.output, \
        listed.output


def test_export_to_no_file_name_says_so(tmp_path) -> None:
    node = Node(tmp_path, "alice")
    result = node.run("sync", "export", "")  # a ValueError from the atomic write's temporary name, before
    assert result.exit_code == 1 and "file name" in result.stderr, result.output
    assert node.run("sync", "export", ".").exit_code == 2  # click: a directory


# -- every read command, in its human form, on a home holding a random assembly's history --------
READS = [("status",), ("proposals",), ("verdicts",), ("log",), ("whoami",), ("alert", "list"),
         ("assembly", "list"), ("mandate", "list"), ("council", "list"), ("campaign", "list"), ("ledger", "list"),
         ("ledger", "review"), ("minutes", "list"), ("sms", "list")]
SHOWS = {"assemblies": [("assembly", "show"), ("review",), ("ledger", "review", "--assembly")],
         "proposals": [("tally",)], "councils": [("council", "show")], "alerts": [],
         "campaigns": [("campaign", "show")]}


@settings(max_examples=int(os.environ.get("CLI_READ_EXAMPLES", "6")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(program=programs)
def test_every_read_command_prints_its_human_form_of_any_history(tmp_path_factory, program) -> None:
    """The human forms were printed, in tests, only for the histories each test made; here every
    list and show command prints a random assembly's history (tests/test_domain_properties.py's
    programs: votes, mandates, councils, alerts, suspensions, seals, late acts)."""
    w = build(*program)
    node = Node(tmp_path_factory.mktemp("reads"), "reader")
    with open_node_store(Home(node.home)) as store:
        store.add_many([e.encode(with_key=True) for e in w.entries], T0 + 40 * D)
        state = domain_state(store)
        ids = {table: [k for k, _ in zip(state.tables[table], range(3), strict=False)] for table in SHOWS}
    now = datetime.fromtimestamp(T0 + 20 * D, UTC).isoformat()
    runs = [list(c) for c in READS] + [[*c, i[:12]] for table, cs in SHOWS.items() for c in cs for i in ids[table]]
    for args in runs:
        result = node.run(*args, now=now)
        shown = (result.output or "") + (result.stderr or "")
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        assert result.exit_code in (0, 1), (args, shown[-800:])

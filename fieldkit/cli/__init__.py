"""The `fieldkit` command line (docs/CLI.md is the contract).

Each module of this package holds one command group; ``COMMANDS`` lists them with the
line ``--help`` shows, so that ``fieldkit --help`` and every command import only what
they use: a command's module (and the meshtastic library, protobuf or serial behind
``node`` and ``emulate``) is imported when that command runs.  A test checks the
lines here against the commands' own help.
"""

from __future__ import annotations

from fieldkit.cli.fastpanic import shred_early

shred_early()  # `fieldkit panic`: the keys go before anything else is imported

import importlib  # noqa: E402

import click  # noqa: E402

from fieldkit import __version__  # noqa: E402
from fieldkit.cli.common import FieldkitGroup, NodeContext, check_now  # noqa: E402

# (name, module of fieldkit.cli, attribute, the line --help shows)
COMMANDS: list[tuple[str, str, str, str]] = [
    ('init', 'node', 'init', "Create this node's keys and empty encrypted store."),
    ('whoami', 'node', 'whoami', "This node's identity."),
    ('unlock', 'node', 'unlock_command',
     'Give the key to a running node that started locked (kept in its memory only).'),
    ('panic', 'node', 'panic', 'Crypto-shred this node now: destroy every copy of its keys, then delete its files.'),
    ('passphrase', 'node', 'passphrase_group', 'The passphrase that wraps the data key.'),
    ('key-file', 'node', 'key_file_group', 'Key files on removable sticks that unlock the node while plugged in.'),
    ('status', 'store', 'status', 'The store at a glance.'),
    ('log', 'store', 'log_command', 'The entries of the log, in the order this node received them.'),
    ('store', 'store', 'store_group', 'Upkeep of the signed log: check it, salvage it.'),
    ('sync', 'sync', 'sync_group', 'Bundles of signed entries for a USB stick or a carried node.'),
    ('bench', 'bench', 'bench', 'Benchmarks: a table for people, --json for scripts.'),
    ('emulate', 'emulate', 'emulate', 'Run emulated Meshtastic nodes on an ideal shared air until Ctrl-C.'),
    ('node', 'noderun', 'node_group', 'The node service.'),
    ('assembly', 'assembly', 'assembly', 'Assemblies: found one, list them, show members and roles.'),
    ('member', 'assembly', 'member', 'Membership: vouch for a newcomer, ask to join, propose a removal.'),
    ('role', 'assembly', 'role', 'Rotation: assign facilitator and other roles for a term, by decision.'),
    ('propose', 'proposals', 'propose', 'Open a proposal in an assembly (or, by mandated delegates, in a council).'),
    ('vote', 'proposals', 'vote', "Cast (or replace) this node's ballot before the close."),
    ('tally', 'proposals', 'tally', 'Counts per option, quorum, and the outcome once closed.'),
    ('proposals', 'proposals', 'proposals', 'Every proposal and motion with its current tally.'),
    ('seal', 'proposals', 'seal', 'Seal closed proposals and passed deadlines: sign what this node held by then.'),
    ('mandate', 'mandates', 'mandate', 'Written mandates for delegates: scope, expiry, report-back.'),
    ('council', 'councils', 'council', 'Time-bound federation councils of mandated delegates.'),
    ('alert', 'alerts', 'alert', 'Urgent calls and the responders on their way.'),
    ('ledger', 'ledger', 'ledger', 'Functions the assemblies have taken over, with witnesses.'),
    ('minutes', 'ledger', 'minutes', 'Public minutes, signed by the current facilitator.'),
    ('verdicts', 'ledger', 'verdicts',
     "Every entry's verdict (counted, refused or waiting, and why), with late-arrival flags."),
    ('campaign', 'campaign', 'campaign',
     'Campaigns laid on the lunar cycle: surge, crest, pause, debrief; renew or end.'),
    ('review', 'review', 'review',
     "Signals that hierarchy is creeping in: rotation, concentration, report-backs, councils, participation, "
     "small-share decisions, the sovereignty ledger's rate and gaps."),
    ('sms', 'sms', 'sms',
     'People with basic phones (enrolment of their numbers), and pairing with other nodes by SMS.'),
    ('demo', 'demo', 'demo', 'Three assemblies on a simulated town mesh and basic phones: founding, votes, a mandate, '
     'an eviction alert, a cut link, a carried node, the merge, a council, the ledger.'),
    ('drill', 'drill', 'drill', 'Run a drill on the simulated mesh and report what held and what broke.'),
    ('web', 'web', 'web', "Serve the web app for members' phones (keys stay on the phones) until Ctrl-C."),
]
_BY_NAME = {name: (module, attr, line) for name, module, attr, line in COMMANDS}


def load_command(name: str) -> click.Command:
    module, attr, _line = _BY_NAME[name]
    return getattr(importlib.import_module(f"fieldkit.cli.{module}"), attr)


class LazyGroup(FieldkitGroup):
    """Commands imported only when they run (or when their own --help is asked for)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_BY_NAME)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in _BY_NAME else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(n) for n in _BY_NAME)
        rows = []
        for name in self.list_commands(ctx):
            line = _BY_NAME[name][2]
            rows.append((name, line if len(line) <= limit else line[: max(limit - 3, 0)].rsplit(" ", 1)[0] + "..."))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", "home", envvar=None, help="The node's home folder (default $FIELDKIT_HOME or ~/.fieldkit).")
@click.option("--now", "now", help="Override the clock for this command (ISO 8601 or +2h).")
@click.version_option(__version__, prog_name="fieldkit")
@click.pass_context
def main(ctx: click.Context, home: str | None, now: str | None) -> None:
    """fieldkit: a low-connectivity mesh and SMS field kit for neighborhood assemblies."""
    obj = ctx.ensure_object(NodeContext)
    obj.home_option = home
    check_now(now)  # every command refuses a bad --now, even those that never read the clock
    obj.now_option = now

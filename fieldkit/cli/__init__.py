"""The `fieldkit` command line (docs/CLI.md is the contract).

Each module of this package holds one command group; ``COMMANDS`` lists them.
"""

from __future__ import annotations

from fieldkit.cli.fastpanic import shred_early

shred_early()  # `fieldkit panic`: the keys go before anything else is imported

import click  # noqa: E402

from fieldkit import __version__  # noqa: E402
from fieldkit.cli import (  # noqa: E402
    alerts,
    assembly,
    bench,
    campaign,
    councils,
    demo,
    drill,
    emulate,
    ledger,
    mandates,
    node,
    noderun,
    proposals,
    review,
    sms,
    store,
    sync,
    web,
)
from fieldkit.cli.common import FieldkitGroup, NodeContext, check_now  # noqa: E402

COMMANDS = [
    node.init, node.whoami, node.unlock_command, node.panic, node.passphrase_group, node.key_file_group,
    store.status, store.log_command, store.store_group, sync.sync_group, bench.bench,
    emulate.emulate, noderun.node_group,
    assembly.assembly, assembly.member, assembly.role, proposals.propose, proposals.vote, proposals.tally,
    proposals.proposals, proposals.seal, mandates.mandate, councils.council, alerts.alert, ledger.ledger,
    ledger.minutes, ledger.verdicts, campaign.campaign, review.review, sms.sms, demo.demo, drill.drill, web.web,
]


@click.group(cls=FieldkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


for _command in COMMANDS:
    main.add_command(_command)

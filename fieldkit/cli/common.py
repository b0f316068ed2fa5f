"""What every command shares: the node context, --json and --now, refusals, output."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from codec import KeyPair
    from fieldkit.home import Home, Unlocked

# codec, the home and the store are imported by the commands that use them, not here:
# `fieldkit --help` and every command start without them (fieldkit/cli/__init__.py).


class Refused(click.ClickException):
    """A refused action: exit status 1, one line on stderr, nothing changed on disk."""

    exit_code = 1


class FieldkitGroup(click.Group):
    """Turns typed fieldkit errors raised by any command into a clean refusal."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from codec import FieldkitError

            if isinstance(exc, FieldkitError):
                from fieldkit.cli.humanize import readable  # raw Unix times in a domain reason, as dates

                raise Refused(readable(exc.reason)) from None
            raise


@dataclass
class NodeContext:
    home_option: str | None = None
    now_option: str | None = None

    @property
    def home(self) -> Home:
        from fieldkit.home import Home, resolve_home

        return Home(resolve_home(self.home_option))

    @property
    def now(self) -> int:
        """Unix seconds: --now if given (ISO or relative to the real clock), else the clock."""
        from fieldkit.timeparse import parse_time

        clock = int(time.time())
        return parse_time(self.now_option, clock) if self.now_option else clock

    def unlocked(self) -> Unlocked:
        """The home opened once for this process (fieldkit/home.py ``unlock``)."""
        from fieldkit.home import unlock

        return unlock(self.home, prompt=lambda: click.prompt("passphrase", hide_input=True, err=True))

    def keypair(self) -> KeyPair:
        return self.unlocked().keypair


def node_context() -> NodeContext:
    return click.get_current_context().find_object(NodeContext)


def check_now(value: str | None) -> None:
    """Refuse a --now that cannot be read, whether or not the command reads the clock."""
    if value is not None:
        from fieldkit.timeparse import parse_time

        parse_time(value, int(time.time()))


def _set_now(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        check_now(value)
        ctx.ensure_object(NodeContext).now_option = value
    return value


def now_option(f: Callable) -> Callable:
    """--now on a leaf command, as CLI.md promises for every command."""
    return click.option(
        "--now", callback=_set_now, expose_value=False, is_eager=True, help="Override the clock (ISO 8601 or +2h)."
    )(f)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(f)


def emit(as_json: bool, data: Any, human: Callable[[], None] | str | None = None) -> None:
    """Print ``data`` as JSON, or the human form."""
    if as_json:
        click.echo(json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False))
    elif callable(human):
        human()
    elif human is not None:
        click.echo(human)


def emit_rows(as_json: bool, rows: Iterable[dict[str, Any]], line: Callable[[dict[str, Any]], str],
              key: str | None = None, empty: str | None = None) -> None:
    """Print rows as they come, one at a time: the same JSON document ``emit`` prints for the
    whole list (under ``key``, if given), or ``line(row)`` per row (``empty`` if there is none).
    Listings of every entry (`log`, `verdicts`) hold one row, not all of them: at 100,000
    entries they took 170-390 MB built whole, and a million would not fit a Pi Zero 2."""
    if not as_json:
        printed = False
        for row in rows:
            click.echo(line(row))
            printed = True
        if not printed and empty is not None:
            click.echo(empty)
        return
    depth = " " if key is None else "  "
    click.echo("[" if key is None else "{\n" + f" {json.dumps(key)}: [", nl=False)
    first = True
    for row in rows:
        text = json.dumps(row, indent=1, sort_keys=False, ensure_ascii=False)
        click.echo(("\n" if first else ",\n") + "\n".join(depth + part for part in text.split("\n")), nl=False)
        first = False
    closing = "]" if first else "\n" + depth[:-1] + "]"
    click.echo(closing if key is None else closing + "\n}")

"""`status`, `log`, `store check|repair|purge`: the store at a glance and its upkeep."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from codec import Entry, FieldkitError, Kind, key_id
from fieldkit.cli.common import emit, emit_rows, json_option, node_context, now_option
from fieldkit.cli.humanize import when
from fieldkit.domain.view import behind_notice
from fieldkit.nodestore import open_node_store, store_path
from fieldkit.timeparse import format_time, parse_time

# What a node pushes on the radio (fieldkit/node/core.py, push_frame): the full key on an
# author's first entry and on the kinds that introduce a key, an 8-byte tag otherwise.
INTRODUCING_KINDS = frozenset({Kind.ASSEMBLY_FOUND, Kind.JOIN_REQUEST, Kind.KEY_REVOKE})


def on_air(entry: Entry) -> bytes:
    return entry.encode(with_key=entry.seq == 0 or entry.kind in INTRODUCING_KINDS)


class NotFound(FieldkitError):
    """An id or name on the command line matches nothing, or more than one thing."""


def _warn(notices: list[str]) -> None:
    for notice in notices:
        click.echo(f"note: {notice}", err=True)


@click.command()
@json_option
@now_option
def status(as_json: bool) -> None:
    """The store at a glance."""
    with open_node_store(node_context().home) as store:
        _warn(store.notices)
        _warn([n for n in [behind_notice(store)] if n])
        data = {
            "entries": len(store),
            "authors": len(store.heads()),
            "pending": store.pending_count,
            "unverifiable": store.unverifiable_count,
            "equivocations": len(store.flagged_keys),
            "store_digest": store.store_digest().hex(),
            "state_digest": store.state_digest().hex(),
        }
    emit(as_json, data, "\n".join(f"{k:<14}{v}" for k, v in data.items()))


def _match_author(prefix: str, authors: list[bytes]) -> bytes:
    """An author by (a prefix of) its public key or key id, in hex, like git ids."""
    text = prefix.lower()
    try:
        bytes.fromhex(text if len(text) % 2 == 0 else text + "0")
    except ValueError:
        raise NotFound(f"author {prefix!r} is not hex: give a key id or public key (or a unique prefix)") from None
    hits = [a for a in authors if a.hex().startswith(text) or key_id(a).hex().startswith(text)]
    if not hits:
        raise NotFound(f"no author in this store matches {prefix!r}")
    if len(hits) > 1:
        raise NotFound(f"{prefix!r} matches {len(hits)} authors: give more digits")
    return hits[0]


@click.command(name="log")
@click.option("--author", help="Only this author (key id or public key, a unique prefix is enough).")
@click.option("--kind", type=click.Choice([k.label for k in Kind]), help="Only entries of this kind.")
@json_option
@now_option
def log_command(author: str | None, kind: str | None, as_json: bool) -> None:
    """The entries of the log, in the order this node received them."""
    with open_node_store(node_context().home) as store:
        _warn(store.notices)
        wanted_author = _match_author(author, list(store.heads())) if author else None

        def rows() -> Iterator[dict[str, Any]]:  # one at a time, as the log is read
            for entry in store.entries():
                if wanted_author is not None and entry.author != wanted_author:
                    continue
                if kind is not None and entry.kind.label != kind:
                    continue
                stored = store.raw(entry.id)
                air = on_air(entry)
                kid = key_id(entry.author).hex()
                row = {"id": entry.id.hex(), "author": kid, "author_key_id": kid,
                       "author_public_key": entry.author.hex(), "seq": entry.seq, "kind": entry.kind.label,
                       "time": format_time(entry.time), "size": len(air), "raw": air.hex()}
                if stored != air:  # e.g. came by bundle with the full key where the air carries a tag
                    row["stored"] = stored.hex()
                yield row

        emit_rows(as_json, rows(), lambda r: f"{r['id'][:12]}  {r['author_key_id']}  #{r['seq']:<5} "
                                             f"{r['kind']:<22} {when(int(parse_time(r['time'], 0)))}  {r['size']} B")


@click.group(name="store")
def store_group() -> None:
    """Upkeep of the signed log: check it, salvage it."""


@store_group.command()
@json_option
@now_option
def check(as_json: bool) -> None:
    """Read the whole log and report intact records and any damage (changes nothing)."""
    from sync.repair import check_log

    report = check_log(store_path(node_context().home), node_context().unlocked().sealer)

    def human() -> None:
        click.echo(f"{report.path}: {report.size} bytes, " + ", ".join(f"{v} {k}" for k, v in report.records.items()))
        if not report.header_ok:
            click.echo("the header is damaged")
        for d in report.damage:
            click.echo(f"damage: bytes {d['start']}..{d['end']} ({d['bytes']} bytes)")
        if report.torn_tail_bytes:
            click.echo(f"a torn write of {report.torn_tail_bytes} bytes at the end (cut off at next open)")
        click.echo("ok" if report.ok else "DAMAGED: run `fieldkit store repair` to salvage every intact entry")

    emit(as_json, report.as_json(), human)
    if not report.ok:
        raise SystemExit(1)


@store_group.command()
@json_option
@now_option
def repair(as_json: bool) -> None:
    """Salvage every intact entry into a fresh log; the damaged one is kept as log.damaged-N."""
    from sync.repair import repair_log

    report = repair_log(store_path(node_context().home), node_context().unlocked().sealer)

    def human() -> None:
        click.echo(f"salvaged {report.salvaged} entries: {report.held} held, {report.pending} kept aside, "
                   f"{len(report.refused)} refused; the damaged log is kept at {report.damaged_copy}")
        for line in report.refused:
            click.echo(f"refused {line}")

    emit(as_json, report.as_json(), human)


@store_group.command()
@json_option
@now_option
def purge(as_json: bool) -> None:
    """Drop every kept-aside entry that no known key can verify (a flood's leftovers)."""
    ctx = node_context()
    with open_node_store(ctx.home) as store:
        _warn(store.notices)
        purged = store.purge_unverifiable(ctx.now)
        data = {"purged": purged, "pending": store.pending_count}
    emit(as_json, data, f"dropped {purged} unverifiable kept-aside entries; {data['pending']} still kept aside "
                        "(verified, waiting for an earlier entry)")

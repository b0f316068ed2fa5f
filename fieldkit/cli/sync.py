"""`sync export FILE [--since TIME]` and `sync import FILE`: bundles for sneakernet."""

from __future__ import annotations

import mmap
import os
import sys
from contextlib import ExitStack
from pathlib import Path

import click

from codec import FieldkitError
from fieldkit.cli.common import emit, json_option, node_context, now_option
from fieldkit.nodestore import open_node_store
from fieldkit.timeparse import parse_duration, parse_time
from sync import bundle
from sync.atomic import write_atomic

PROGRESS_FROM = 2000  # records: below this an import is quick enough without a bar


class BundleFileError(FieldkitError):
    """The bundle file cannot be read or written."""


@click.group("sync")
def sync_group() -> None:
    """Bundles of signed entries for a USB stick or a carried node."""


@sync_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--since", help="Only entries from this time on: ISO 8601, or -3d / -12h before now.")
@json_option
@now_option
def export_command(file: str, since: str | None, as_json: bool) -> None:
    """Write a bundle of signed entries."""
    if not Path(file).name:  # "" or "." (click's dir_okay=False looks only at what exists): write_atomic's
        raise BundleFileError(f"cannot write {file!r}: give the bundle a file name")  # ValueError, before
    ctx = node_context()
    now = ctx.now
    since_s = _since(since, now) if since else None
    with open_node_store(ctx.home) as store:
        data = bundle.export_bundle(store, now, since_s)
    count = int.from_bytes(data[-4:], "big")
    try:
        write_atomic(Path(file), data)
    except OSError as exc:
        raise BundleFileError(f"cannot write {file}: {exc.strerror}") from None
    emit(as_json, {"file": file, "entries": count, "bytes": len(data), "since": since_s},
         f"wrote {count} entries ({len(data)} bytes) to {file}")


def _since(text: str, now: int) -> int:
    text = text.strip()
    if text.startswith("-"):  # "-3d": that long before now
        return now - parse_duration(text[1:])
    return parse_time(text, now)


@sync_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@now_option
def import_command(file: str, as_json: bool) -> None:
    """Verify every entry of a bundle and merge what verifies."""
    ctx = node_context()
    with ExitStack() as stack:
        try:
            f = stack.enter_context(open(file, "rb"))
            # mapped, not read: a bundle of a million entries is paged in as the import walks it
            data: bytes | mmap.mmap = (mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                                       if os.fstat(f.fileno()).st_size else b"")
        except OSError as exc:
            raise BundleFileError(f"cannot read {file}: {exc.strerror}") from None
        if isinstance(data, mmap.mmap):
            stack.callback(data.close)
        bundle.read_header(data)  # a file that is no bundle at all is refused before the store opens
        with open_node_store(ctx.home, clock=lambda: ctx.now) as store:  # far-future entries are held
            total = bundle.count_records(data)
            if sys.stderr.isatty() and not as_json and total >= PROGRESS_FROM:
                with click.progressbar(length=total, label="verifying", file=sys.stderr) as bar:
                    report = bundle.import_bundle(store, data, ctx.now, bar.update)
            else:
                report = bundle.import_bundle(store, data, ctx.now)
            # the person who imports sees what they imported: a whole refold the bundle's old
            # entries asked for, put off between its batches (refold_pacing.py), runs now, once
            store.settle_views(force=True)

    def human() -> None:
        click.echo(f"added {report.added} (kept aside {report.pending}), duplicates {report.duplicates}, "
                   f"refused {len(report.refused)}")
        for r in report.refused:
            click.echo(f"  record {r.index}: {r.reason}")

    emit(as_json, report.as_json(), human)
    if report.refused:  # scripts must see a partial import: the report above says what and why
        raise SystemExit(1)

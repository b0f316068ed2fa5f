"""Assemblies, membership and roles: assembly create/list/show, member vouch/join/remove, role assign."""

from __future__ import annotations

import click

from codec import Role, kinds
from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import session, with_iso_times
from fieldkit.cli.humanize import names, proposed, who
from fieldkit.cli.motions import motion_options, terms
from fieldkit.domain import actions, queries
from fieldkit.timeparse import parse_time


@click.group()
def assembly() -> None:
    """Assemblies: found one, list them, show members and roles."""


@assembly.command("create")
@click.argument("name")
@click.option("--need", required=True, help="The shared need: housing, food, work, safety, care...")
@click.option("--vouch-threshold", "k", type=click.IntRange(1, 255), default=2, show_default=True,
              help="How many members must vouch for a newcomer.")
@json_option
@now_option
def create(name: str, need: str, k: int, as_json: bool) -> None:
    """Found an assembly; you are its first member."""
    with session() as s:
        entry = s.act(kinds.AssemblyFound(name, need, k))
    emit(as_json, {"id": entry.id.hex(), "name": name, "need": need, "vouch_threshold": k},
         f"founded {name}: {entry.id.hex()}")


@assembly.command("list")
@json_option
@now_option
def list_(as_json: bool) -> None:
    """Every assembly this node knows."""
    with session() as s:
        rows = queries.assembly_list(s.state, s.now)
    emit(as_json, {"assemblies": with_iso_times(rows)},
         lambda: [click.echo(f"{r['id'][:12]}  {r['name']} ({r['need']}), {len(r['members'])} members")
                  for r in rows] or click.echo("no assemblies yet: fieldkit assembly create NAME --need NEED"))


@assembly.command("show")
@click.argument("assembly_id")
@json_option
@now_option
def show(assembly_id: str, as_json: bool) -> None:
    """Members, candidates waiting for vouches, and roles of an assembly."""
    with session() as s:
        row = queries.assembly_show(s.state, s.find("assemblies", assembly_id, "assembly"), s.now)
        state = s.state

    def human() -> None:
        click.echo(f"{row['name']} ({row['need']})  {row['id']}")
        click.echo(f"members ({len(row['members'])}): {names(state, row['members'])}")
        for c in row["candidates"]:
            click.echo(f"waiting: {who(state, c['key'])} — {c['vouches']} of {c['needed']} vouches")
        for role, holder in row["roles"].items():
            click.echo(f"{role}: {who(state, holder)}")

    emit(as_json, with_iso_times(row), human)


@click.group()
def member() -> None:
    """Membership: vouch for a newcomer, ask to join, propose a removal."""


@member.command("vouch")
@click.argument("assembly_id")
@click.argument("key")
@json_option
@now_option
def vouch(assembly_id: str, key: str, as_json: bool) -> None:
    """Vouch for a newcomer (key id known to this node, or full public key)."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        kid, public = actions.member_key(s.state, key)
        if public is None:
            raise actions.ActionRefused("this node does not know that key yet: give the newcomer's full public key "
                                        "(fieldkit whoami on their node)")
        entry = s.act(kinds.Vouch(actions.ref(aid), public))
        shown = queries.assembly_show(s.reload(), aid, s.now)
    admitted = kid.hex() in shown["members"]
    emit(as_json, {"id": entry.id.hex(), "assembly": aid, "newcomer": kid.hex(), "admitted": admitted},
         f"vouched for {kid.hex()}: {'admitted' if admitted else 'not admitted yet (more vouches needed)'}")


@member.command("join")
@click.argument("assembly_id")
@click.option("--name", required=True, help="How members will recognise you.")
@json_option
@now_option
def join(assembly_id: str, name: str, as_json: bool) -> None:
    """Ask to join: members then vouch for your key."""
    with session() as s:
        entry = s.act(kinds.JoinRequest(actions.ref(s.find("assemblies", assembly_id, "assembly")), name))
    emit(as_json, {"id": entry.id.hex()}, f"asked to join: {entry.id.hex()}\nask members to vouch for your key")


@member.command("remove")
@click.argument("assembly_id")
@click.argument("key")
@click.option("--reason", default="", help="Why.")
@motion_options
@json_option
@now_option
def remove(assembly_id: str, key: str, reason: str, closes: str, quorum: int, threshold: str,
           as_json: bool) -> None:
    """Propose removing a member (takes effect if the proposal passes)."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        kid, _ = actions.member_key(s.state, key)
        entry = s.act(kinds.ProposeRemoval(**terms(s, aid, closes, quorum, threshold), member=kid, reason=reason))
        text = proposed(s.state, entry.id.hex())
    emit(as_json, {"id": entry.id.hex()}, text)


@click.group()
def role() -> None:
    """Rotation: assign facilitator and other roles for a term, by decision."""


@role.command("assign")
@click.argument("assembly_id")
@click.argument("role_name", type=click.Choice([r.name.lower() for r in Role]))
@click.argument("holder")
@click.option("--from", "start", required=True, help="Term start (ISO 8601 or +1d).")
@click.option("--until", "end", required=True, help="Term end.")
@click.option("--renewal", is_flag=True, help="The holder follows themselves (allowed only as a renewal).")
@motion_options
@json_option
@now_option
def assign(assembly_id: str, role_name: str, holder: str, start: str, end: str, renewal: bool, closes: str,
           quorum: int, threshold: str, as_json: bool) -> None:
    """Propose a role assignment for a term."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        kid, _ = actions.member_key(s.state, holder)
        entry = s.act(kinds.ProposeRole(**terms(s, aid, closes, quorum, threshold), role=Role[role_name.upper()],
                                        holder=kid, term_start=parse_time(start, s.now),
                                        term_end=parse_time(end, s.now), renewal=renewal))
        text = proposed(s.state, entry.id.hex())
    emit(as_json, {"id": entry.id.hex()}, text)

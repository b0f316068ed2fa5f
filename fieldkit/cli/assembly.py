"""Assemblies, membership and roles: assembly create/list/show, member vouch/join/remove, role assign."""

from __future__ import annotations

import click

from codec import Kind, Role, kinds
from codec.kinds import MotionClass
from fieldkit.cli.common import emit, json_option, now_option
from fieldkit.cli.domain_common import session, with_iso_times
from fieldkit.cli.humanize import names, proposed, who
from fieldkit.cli.motions import motion_options, terms
from fieldkit.domain import actions, queries
from fieldkit.timeparse import parse_duration, parse_time


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
    with session() as s:  # the names are read from the store as they are printed: it stays open until then
        row = queries.assembly_show(s.state, s.find("assemblies", assembly_id, "assembly"), s.now)
        state = s.state

        def human() -> None:
            click.echo(f"{row['name']} ({row['need']})  {row['id']}")
            click.echo(f"members ({len(row['members'])}): {names(state, row['members'])}")
            for c in row["candidates"]:
                click.echo(f"waiting: {who(state, c['key'])} — {c['vouches']} of {c['needed']} vouches")
            for role, holder in row["roles"].items():
                click.echo(f"{role}: {who(state, holder)}")
            for key in row["suspended"]:
                click.echo(f"suspended: {who(state, key)}")
            for cls, f in row["constitution"].items():
                click.echo(f"{cls} decisions: at least {f['quorum_percent']} % of members voting, {f['threshold']} % "
                           f"of ballots, open {f['period'] // 3600} h or more")
            if row["recognizes"]:
                click.echo(f"recognizes: {', '.join(a[:12] for a in row['recognizes'])}")

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


def _keep(s, key_id: bytes, public: bytes | None, given: int | None) -> int:
    """The cut: --keep if given, else every entry of the key this node holds (its head + 1)."""
    if given is not None:
        return given
    if public is None:
        return 0
    return s.store.heads().get(public, -1) + 1


@member.command("remove")
@click.argument("assembly_id")
@click.argument("key")
@click.option("--reason", default="", help="Why.")
@click.option("--keep", type=click.IntRange(0, 0xFFFFFFFF), default=None,
              help="How many of the member's entries the assembly accepts: its entries 0..N-1 "
                   "(default: all this node holds).")
@motion_options
@json_option
@now_option
def remove(assembly_id: str, key: str, reason: str, keep: int | None, closes: str | None, quorum: int | None,
           threshold: str | None, as_json: bool) -> None:
    """Propose removing a member: a strict motion (two thirds, a majority voting, a week's notice by default)."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        kid, public = actions.member_key(s.state, key)
        cut = _keep(s, kid, public, keep)
        entry = s.act(kinds.ProposeRemoval(**terms(s, aid, closes, quorum, threshold, Kind.PROPOSE_REMOVAL),
                                           member=kid, reason=reason, keep=cut))
        text = proposed(s.state, entry.id.hex())
    emit(as_json, {"id": entry.id.hex(), "keep": cut}, f"{text} (its entries from {cut} on void if it passes)")


@member.command("revoke")
@click.argument("assembly_id")
@click.argument("key")
@click.option("--reason", default="key lost or seized", show_default=True, help="Why.")
@click.option("--keep", type=click.IntRange(0, 0xFFFFFFFF), default=None,
              help="How many of the key's entries the assembly still trusts: its entries 0..N-1 "
                   "(default: all this node holds).")
@motion_options
@json_option
@now_option
def revoke(assembly_id: str, key: str, reason: str, keep: int | None, closes: str | None, quorum: int | None,
           threshold: str | None, as_json: bool) -> None:
    """Propose revoking a lost or seized key: once passed, only its first --keep entries count here."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        kid, public = actions.member_key(s.state, key)
        cut = _keep(s, kid, public, keep)
        entry = s.act(kinds.ProposeRevoke(**terms(s, aid, closes, quorum, threshold, Kind.PROPOSE_REVOKE),
                                          member=kid, keep=cut, reason=reason))
    emit(as_json, {"id": entry.id.hex(), "keep": cut},
         f"proposed revocation of {kid.hex()} from its entry {cut} on: {entry.id.hex()}")


@member.command("suspend")
@click.argument("assembly_id")
@click.argument("key")
@click.option("--keep", type=click.IntRange(0, 0xFFFFFFFF), default=None,
              help="How many of the key's entries you still trust: its entries 0..N-1 "
                   "(default: all this node holds).")
@json_option
@now_option
def suspend(assembly_id: str, key: str, keep: int | None, as_json: bool) -> None:
    """Co-sign the suspension of a lost or seized key: in effect at once when enough members co-sign
    (the vouch threshold); lapses after 14 days unless a removal or revocation passes."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        kid, public = actions.member_key(s.state, key)
        cut = _keep(s, kid, public, keep)
        entry = s.act(kinds.Suspend(actions.ref(aid), kid, cut))
        shown = queries.assembly_show(s.reload(), aid, s.now)
    done = kid.hex() in shown["suspended"]
    emit(as_json, {"id": entry.id.hex(), "assembly": aid, "member": kid.hex(), "keep": cut, "suspended": done},
         f"co-signed the suspension of {kid.hex()} from its entry {cut} on: "
         + ("suspended now" if done else "more members must co-sign"))


@assembly.command("recognize")
@click.argument("assembly_id")
@click.argument("other_id")
@motion_options
@json_option
@now_option
def recognize(assembly_id: str, other_id: str, closes: str | None, quorum: int | None, threshold: str | None,
              as_json: bool) -> None:
    """Propose that ASSEMBLY recognizes OTHER: its members then count as responders to ASSEMBLY's alerts."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        oid = s.find("assemblies", other_id, "assembly")
        entry = s.act(kinds.ProposeRecognize(**terms(s, aid, closes, quorum, threshold, Kind.PROPOSE_RECOGNIZE),
                                             other=actions.ref(oid)))
    emit(as_json, {"id": entry.id.hex()}, f"proposed recognizing {oid[:12]}: {entry.id.hex()}")


@assembly.command("rules")
@click.argument("assembly_id")
@click.option("--class", "motion_class", required=True, type=click.Choice([c.name.lower() for c in MotionClass]),
              help="Which class of decisions the new floors are for.")
@click.option("--quorum-percent", type=click.IntRange(0, 100), required=True,
              help="Fewest voters, as a percent of the members at the opening.")
@click.option("--threshold-floor", type=click.IntRange(50, 100), required=True,
              help="Percent of ballots the leading option needs (50 or more).")
@click.option("--period", required=True, help="Shortest voting period (e.g. 1h, 7d).")
@motion_options
@json_option
@now_option
def rules(assembly_id: str, motion_class: str, quorum_percent: int, threshold_floor: int, period: str,
          closes: str | None, quorum: int | None, threshold: str | None, as_json: bool) -> None:
    """Propose changing the constitution's floors for one class (itself a strict motion)."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        entry = s.act(kinds.ProposeRules(**terms(s, aid, closes, quorum, threshold, Kind.PROPOSE_RULES),
                                         motion_class=MotionClass[motion_class.upper()],
                                         quorum_percent=quorum_percent, threshold_floor=threshold_floor,
                                         period=parse_duration(period)))
    emit(as_json, {"id": entry.id.hex()}, f"proposed new floors for {motion_class} decisions: {entry.id.hex()}")


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
def assign(assembly_id: str, role_name: str, holder: str, start: str, end: str, renewal: bool, closes: str | None,
           quorum: int | None, threshold: str | None, as_json: bool) -> None:
    """Propose a role assignment for a term."""
    with session() as s:
        aid = s.find("assemblies", assembly_id, "assembly")
        kid, _ = actions.member_key(s.state, holder)
        entry = s.act(kinds.ProposeRole(**terms(s, aid, closes, quorum, threshold, Kind.PROPOSE_ROLE),
                                        role=Role[role_name.upper()],
                                        holder=kid, term_start=parse_time(start, s.now),
                                        term_end=parse_time(end, s.now), renewal=renewal))
        text = proposed(s.state, entry.id.hex())
    emit(as_json, {"id": entry.id.hex()}, text)

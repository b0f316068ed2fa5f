"""SMS subscribers: enrol a phone number for a member, list them, remove one."""

from __future__ import annotations

import os
import sys

import click

from fieldkit.cli.common import emit, json_option, node_context, now_option
from fieldkit.cli.domain_common import session
from fieldkit.domain import actions
from fieldkit.sms.subscribers import (
    LANGUAGES,
    SMS_DIR,
    SubscriberError,
    Subscribers,
    check_pin,
    normalize_number,
)
from fieldkit.timeparse import format_time


@click.group()
def sms() -> None:
    """People with basic phones (enrolment of their numbers), and pairing with other nodes by SMS."""


def _has_subscribers() -> bool:
    return (node_context().home.path / SMS_DIR / "subscribers.sqlite").exists()


@sms.command()
@click.argument("number")
@click.option("--pin", hidden=True, help="Refused: a PIN on the command line lands in shell history and `ps`.")
@click.option("--language", type=click.Choice(LANGUAGES), default="es", show_default=True, help="Reply language.")
@click.option("--name", default="", help="How the member is called in join requests.")
@click.option("--key", "public_key", help="The member's own key (key id, unique prefix or public key) if they "
              "have a device; "
              "without it the node holds a key for them.")
@click.option("--assembly", "assembly_id", default="", help="Assembly their SMS ALERTs go to (id prefix).")
@click.option("--no-responder", is_flag=True, help="Do not send them alerts.")
@json_option
@now_option
def enrol(number: str, pin: str | None, language: str, name: str, public_key: str | None, assembly_id: str,
          no_responder: bool, as_json: bool) -> None:
    """Enrol NUMBER (e.g. +34600111222) for a member."""
    ctx = node_context()
    if pin is not None:
        raise SubscriberError("--pin on the command line lands in shell history and `ps`: give the PIN at the "
                              "prompt, or in FIELDKIT_SMS_PIN for a script")
    number = normalize_number(number)
    pin = os.environ.get("FIELDKIT_SMS_PIN") or (
        click.prompt("PIN", hide_input=True, confirmation_prompt=True, err=True) if sys.stdin.isatty() else None)
    if not pin:
        raise SubscriberError("no PIN: run on a terminal (it is asked) or set FIELDKIT_SMS_PIN")
    check_pin(pin)
    key = None
    if public_key:  # a key id, a unique prefix or the full public key, as every other command takes
        with session() as s:
            _, key = actions.member_key(s.state, public_key)
        if key is None:
            raise SubscriberError(f"key {public_key!r} is not known on this node yet: give the full public key "
                                  "(64 hex digits; fieldkit whoami shows it on the member's device)")
    if assembly_id:
        with session() as s:
            assembly_id = actions.find(s.state, "assemblies", assembly_id, "assembly")
    subscribers = Subscribers(ctx.home.path, ctx.keypair(), ctx.unlocked().sealer)
    try:
        sub = subscribers.enrol(number, pin, language, ctx.now, name=name, public_key=key, assembly=assembly_id,
                                responder=not no_responder)
    finally:
        subscribers.close()
    data = sub.public()
    data["enrolled"] = format_time(sub.enrolled)
    emit(as_json, data, f"enrolled {sub.number} ({sub.language}); member key id {sub.key_id}"
         + (" held by this node" if sub.holds_key else ""))


@sms.command()
@click.argument("number")
@json_option
@now_option
def duress(number: str, as_json: bool) -> None:
    """Give NUMBER a duress PIN: any command sent with it shreds this node (asked, or FIELDKIT_SMS_DURESS_PIN)."""
    ctx = node_context()
    pin = os.environ.get("FIELDKIT_SMS_DURESS_PIN") or (
        click.prompt("duress PIN", hide_input=True, confirmation_prompt=True, err=True) if sys.stdin.isatty()
        else None)
    if not pin:
        raise SubscriberError("no duress PIN: run on a terminal (it is asked) or set FIELDKIT_SMS_DURESS_PIN")
    subscribers = Subscribers(ctx.home.path, ctx.keypair(), ctx.unlocked().sealer)
    try:
        subscribers.set_duress(number, pin)
    finally:
        subscribers.close()
    emit(as_json, {"number": normalize_number(number), "duress": True},
         f"{normalize_number(number)} has a duress PIN: a command carrying it wipes this node")


@sms.command("list")
@json_option
@now_option
def list_(as_json: bool) -> None:
    """Enrolled numbers."""
    rows = []
    if _has_subscribers():
        subscribers = Subscribers(node_context().home.path, sealer=node_context().unlocked().sealer)
        try:
            rows = [s.public() | {"enrolled": format_time(s.enrolled)} for s in subscribers.all()]
        finally:
            subscribers.close()

    def human() -> None:
        if not rows:
            click.echo("no SMS subscribers")
        for r in rows:
            flags = ",".join(f for f, on in (("stopped", r["stopped"]), ("responder", r["responder"]),
                                             ("held-key", r["held_by_node"])) if on)
            click.echo(f"{r['number']:<16} {r['language']}  {r['key_id']}  {r['name'] or '-'}  {flags}")

    emit(as_json, {"subscribers": rows}, human)


@sms.command()
@click.argument("number")
@json_option
@now_option
def remove(number: str, as_json: bool) -> None:
    """Remove NUMBER: it gets no more SMS and its commands are no longer acted on."""
    number = normalize_number(number)
    if not _has_subscribers():
        raise SubscriberError(f"{number} is not enrolled (see `fieldkit sms list`)")
    subscribers = Subscribers(node_context().home.path, sealer=node_context().unlocked().sealer)
    try:
        sub = subscribers.remove(number)
    finally:
        subscribers.close()
    emit(as_json, {"number": sub.number, "key_id": sub.key_id}, f"removed {sub.number}")


@sms.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="How many, newest first.")
@json_option
@now_option
def outbox(limit: int, as_json: bool) -> None:
    """SMS queued and sent by the node, with their delivery state."""
    from fieldkit.sms.gateway import modem_sealer
    from radio.sms.queue import SendQueue

    path = node_context().home.path / SMS_DIR / "modem" / "outbox.sqlite"
    rows = []
    if path.exists():
        queue = SendQueue(path, sealer=modem_sealer(node_context().unlocked().sealer))
        try:
            rows = queue.recent(limit)
        finally:
            queue.close()
    for r in rows:
        r["created"] = format_time(r["created"])

    def human() -> None:
        if not rows:
            click.echo("no SMS sent yet")
        for r in rows:
            what = f"<{r['bytes']} bytes>" if r["binary"] else r["text"][:50]
            click.echo(f"{r['id']:>5} {r['state']:<9} {r['priority']:<6} {r['number']:<16} {what}")

    emit(as_json, {"messages": rows}, human)


@sms.command()
@click.argument("number")
@click.argument("public_key")
@json_option
@now_option
def pair(number: str, public_key: str, as_json: bool) -> None:
    """Pair the fieldkit node at NUMBER, whose `fieldkit whoami` public key is PUBLIC_KEY.

    Binary SMS between two paired nodes are authenticated and encrypted with keys both derive
    from their own node keys; SMS from numbers not paired, or not sealed by the paired node,
    are dropped.  Pair on both nodes.
    """
    from fieldkit.sms.pairs import pair as make_pair

    ctx = node_context()
    paired_number, key = make_pair(ctx.home.path, ctx.keypair(), number, public_key, ctx.unlocked().sealer)
    emit(as_json, {"number": paired_number, "public_key": key.hex()},
         f"paired {paired_number} (node key {key.hex()[:16]}…); pair this node there too: "
         f"fieldkit sms pair <this node's number> {ctx.keypair().public_key.hex()}")


@sms.command()
@click.argument("number")
@json_option
@now_option
def unpair(number: str, as_json: bool) -> None:
    """Forget the paired node at NUMBER: its SMS are dropped from now on."""
    from fieldkit.sms.pairs import unpair as drop_pair

    ctx = node_context()
    drop_pair(ctx.home.path, number, ctx.unlocked().sealer)
    emit(as_json, {"number": normalize_number(number), "paired": False}, f"unpaired {normalize_number(number)}")


@sms.command()
@json_option
@now_option
def pairs(as_json: bool) -> None:
    """The paired peer nodes of the SMS link."""
    from fieldkit.sms.pairs import load_pairs

    ctx = node_context()
    paired = load_pairs(ctx.home.path, ctx.unlocked().sealer)
    rows = [{"number": n, "public_key": k.hex()} for n, k in sorted(paired.items())]
    emit(as_json, {"pairs": rows}, "\n".join(f"{r['number']}  {r['public_key']}" for r in rows) or "no paired nodes")

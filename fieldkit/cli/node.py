"""Node commands: init, whoami."""

from __future__ import annotations

import os

import click

from fieldkit.cli.common import emit, json_option, node_context, now_option


@click.command()
@click.option("--name", required=True, help="A name people recognise for this node.")
@click.option("--passphrase", is_flag=True, help="Encrypt the secret key (asks, or reads FIELDKIT_PASSPHRASE).")
@json_option
@now_option
def init(name: str, passphrase: bool, as_json: bool) -> None:
    """Create this node's key pair and empty store."""
    secret = None
    if passphrase:
        secret = os.environ.get("FIELDKIT_PASSPHRASE") or click.prompt(
            "passphrase", hide_input=True, confirmation_prompt=True, err=True
        )
    identity = node_context().home.create(name, secret)
    data = {"key_id": identity.key_id, "public_key": identity.public_key.hex(), "name": identity.name}
    emit(as_json, data, f"created node {identity.name!r} at {node_context().home.path}\nkey id {identity.key_id}")


@click.command()
@json_option
@now_option
def whoami(as_json: bool) -> None:
    """This node's identity."""
    identity = node_context().home.identity()
    data = {"key_id": identity.key_id, "public_key": identity.public_key.hex(), "name": identity.name}
    emit(as_json, data, f"{identity.name}\nkey id     {identity.key_id}\npublic key {identity.public_key.hex()}")

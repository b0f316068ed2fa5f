"""Link specifications as CLI.md writes them: `meshtastic:serial:PATH`, `meshtastic:tcp:HOST[:PORT]`, `sms:PATH`."""

from __future__ import annotations

from dataclasses import dataclass

from codec import FieldkitError

MESHTASTIC_TCP_PORT = 4403  # firmware src/mesh/api/ServerAPI.h SERVER_API_DEFAULT_PORT


class BadLinkSpec(FieldkitError):
    """A --link value that names no link fieldkit knows."""


@dataclass(frozen=True)
class LinkSpec:
    kind: str  # "meshtastic-serial", "meshtastic-tcp", "sms"
    target: str  # device path or host
    port: int | None = None

    def __str__(self) -> str:
        if self.kind == "meshtastic-tcp":
            return f"meshtastic:tcp:{self.target}:{self.port}"
        if self.kind == "meshtastic-serial":
            return f"meshtastic:serial:{self.target}"
        return f"sms:{self.target}"


def parse_link_spec(text: str) -> LinkSpec:
    usage = "use meshtastic:serial:/dev/ttyUSB0, meshtastic:tcp:HOST[:PORT] or sms:/dev/ttyUSB1"
    scheme, _, rest = text.strip().partition(":")
    if scheme == "sms" and rest:
        return LinkSpec("sms", rest)
    if scheme == "meshtastic":
        transport, _, where = rest.partition(":")
        if transport == "serial" and where:
            return LinkSpec("meshtastic-serial", where)
        if transport == "tcp" and where:
            host, sep, port_text = where.rpartition(":")
            if not sep:
                return LinkSpec("meshtastic-tcp", where, MESHTASTIC_TCP_PORT)
            if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not host:
                raise BadLinkSpec(f"bad TCP address in link {text!r}: {usage}")
            return LinkSpec("meshtastic-tcp", host.strip("[]"), int(port_text))
    raise BadLinkSpec(f"unknown link {text!r}: {usage}")

"""Link specs as in CLI.md: ``meshtastic:serial:/dev/ttyUSB0``, ``meshtastic:tcp:HOST[:PORT]``."""

from __future__ import annotations

from dataclasses import dataclass

from codec.errors import FieldkitError

DEFAULT_TCP_PORT = 4403  # firmware SERVER_API_DEFAULT_PORT (src/mesh/api/ServerAPI.h)


class LinkSpecError(FieldkitError):
    """A link spec that does not name a Meshtastic serial or TCP device."""


@dataclass(frozen=True)
class MeshtasticSpec:
    kind: str  # "serial" or "tcp"
    path: str = ""  # serial device; prefer /dev/serial/by-id/... (stable across replugs)
    host: str = ""
    port: int = DEFAULT_TCP_PORT

    def __str__(self) -> str:
        if self.kind == "serial":
            return f"meshtastic:serial:{self.path}"
        return f"meshtastic:tcp:{self.host}:{self.port}"


def parse_spec(spec: str) -> MeshtasticSpec:
    parts = spec.split(":", 2)
    if len(parts) != 3 or parts[0] != "meshtastic" or not parts[2]:
        raise LinkSpecError(f"link {spec!r} is not meshtastic:serial:PATH or meshtastic:tcp:HOST[:PORT]")
    kind, rest = parts[1], parts[2]
    if kind == "serial":
        return MeshtasticSpec("serial", path=rest)
    if kind == "tcp":
        host, sep, port = rest.rpartition(":")
        if not sep:
            return MeshtasticSpec("tcp", host=rest)
        if not port.isdigit() or not 0 < int(port) < 65536 or not host:
            raise LinkSpecError(f"link {spec!r}: {port!r} is not a TCP port")
        return MeshtasticSpec("tcp", host=host.strip("[]"), port=int(port))
    raise LinkSpecError(f"link {spec!r}: unknown Meshtastic transport {kind!r} (serial or tcp)")

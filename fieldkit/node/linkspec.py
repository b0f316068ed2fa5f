"""Link specifications as CLI.md writes them: `meshtastic:serial:PATH`, `meshtastic:tcp:HOST[:PORT]`, `sms:PATH`.

Meshtastic specs are parsed by the radio layer (radio/spec.py); this adds the SMS modem.
"""

from __future__ import annotations

from dataclasses import dataclass

from radio.spec import LinkSpecError, MeshtasticSpec, parse_spec

USAGE = "use meshtastic:serial:/dev/ttyUSB0, meshtastic:tcp:HOST[:PORT] or sms:/dev/ttyUSB1"


@dataclass(frozen=True)
class SmsSpec:
    path: str

    def __str__(self) -> str:
        return f"sms:{self.path}"


def parse_link_spec(text: str) -> MeshtasticSpec | SmsSpec:
    text = text.strip()
    scheme, _, rest = text.partition(":")
    if scheme == "sms" and rest:
        return SmsSpec(rest)
    if scheme == "meshtastic":
        return parse_spec(text)
    raise LinkSpecError(f"unknown link {text!r}: {USAGE}")

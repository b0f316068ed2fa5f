"""Settings that name people or places, kept sealed instead of in node.toml (issue 17).

node.toml is meant to be read and edited by hand, so it stays plain; what it used to hold
that a seized card must not give away — the phone numbers of peer nodes reached by binary
SMS — lives in ``secrets.sealed`` (JSON sealed under the home's data key, written
atomically through sync/atomic.py's file sealer), managed by ``fieldkit sms peer
add|remove|list``.  ``node run`` merges both; a number still in node.toml is used, with a
warning to move it.
"""

from __future__ import annotations

import json
from pathlib import Path

from codec import FieldkitError
from codec.sealing import Sealer, SealError
from sync.atomic import read_sealed, write_sealed

SECRETS_FILE = "secrets.sealed"


class SecretsError(FieldkitError):
    """The sealed settings cannot be read (damaged, or another home's)."""


class SealedSettings:
    def __init__(self, home: Path, sealer: Sealer) -> None:
        self.path = Path(home) / SECRETS_FILE
        self._sealer = sealer.derive("settings")

    def load(self) -> dict:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(read_sealed(self.path, self._sealer))
        except (OSError, ValueError, SealError) as exc:
            raise SecretsError(f"{self.path} cannot be read: {exc}") from None
        return data if isinstance(data, dict) else {}

    def save(self, data: dict) -> None:
        write_sealed(self.path, json.dumps(data, sort_keys=True).encode(), self._sealer)

    @property
    def sms_peers(self) -> tuple[str, ...]:
        peers = self.load().get("sms_peers", [])
        return tuple(p for p in peers if isinstance(p, str))

    def set_sms_peers(self, peers: list[str]) -> None:
        data = self.load()
        data["sms_peers"] = sorted(set(peers))
        self.save(data)

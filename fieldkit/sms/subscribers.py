"""Phone subscribers enrolled on this node: number, member key, PIN hash, language, opt-out.

Kept in ``<home>/sms/subscribers.sqlite``.  A member who only has a phone gets a key pair
held by the node on their behalf: its seed is sealed (SecretBox) with a key derived from
the node's own secret key, so the file alone does not let anyone sign as them.  The PIN is
stored as an Argon2id hash (nacl.pwhash), never in clear.  Wrong PINs are counted here, on
disk, so a restart does not lift a lockout.  The *ident* that goes on the air in an entry's
origin is a keyed hash of the number (DESIGN.md: never the number itself).

In a home (a ``sealer``: the data key) every row is sealed column by column
(radio/durable.py ``RowSealer``): number, name, keys, assembly, held seed and PIN hash;
the ``number`` column is then a keyed hash (a blind index) for lookups.  The PIN is
hashed with a per-node *pepper* derived from the data key before Argon2id, so even
someone who got the hashes out would need the data key to test a single PIN: the
10,000 four-digit PINs are no longer a two-minute search.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret

from codec import FieldkitError, KeyPair, Origin, OriginChannel, key_id
from codec.sealing import Sealer
from radio.durable import RowSealer, open_durable_db

SMS_DIR = "sms"
IDENT_SIZE = 8  # bytes of keyed hash in the origin: enough to tell a node's subscribers apart
LANGUAGES = ("en", "es")
# Argon2id "interactive" as in home.py: a PIN check costs a fraction of a second on a Pi.
PIN_OPS = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
PIN_MEM = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    number TEXT PRIMARY KEY, name TEXT, language TEXT, key_id TEXT, public_key TEXT, sealed_seed BLOB,
    pin_hash BLOB, assembly TEXT, responder INTEGER, stopped INTEGER DEFAULT 0, notice_sent INTEGER DEFAULT 0,
    enrolled INTEGER, pin_fails INTEGER DEFAULT 0, locked_until INTEGER DEFAULT 0, lockouts INTEGER DEFAULT 0,
    number_box BLOB, duress_hash BLOB);
"""


class SubscriberError(FieldkitError):
    """An enrolment that cannot be done (bad number, PIN or language, already enrolled...)."""


@dataclass(frozen=True)
class Subscriber:
    number: str
    name: str
    language: str
    key_id: str  # hex of the member's 8-byte key id
    public_key: str
    holds_key: bool  # True when the node signs for this member (a phone-only member)
    assembly: str  # the assembly id (hex, may be empty) their ALERTs go to
    responder: bool  # receives alerts
    stopped: bool
    notice_sent: bool
    enrolled: int
    pin_fails: int
    locked_until: int
    lockouts: int

    def public(self) -> dict:
        """What `sms list --json` shows (no PIN hash, no key seed)."""
        return {"number": self.number, "name": self.name, "language": self.language, "key_id": self.key_id,
                "public_key": self.public_key, "held_by_node": self.holds_key, "assembly": self.assembly,
                "responder": self.responder, "stopped": self.stopped, "enrolled": self.enrolled}


def normalize_number(number: str) -> str:
    """``+34 600-111 222`` -> ``+34600111222``; refuses anything but digits and one leading '+'."""
    cleaned = "".join(c for c in number.strip() if c not in " -.()")
    digits = cleaned[1:] if cleaned.startswith("+") else cleaned
    if not digits.isdigit() or not 3 <= len(digits) <= 15:
        raise SubscriberError(f"{number!r} is not a phone number: use digits, e.g. +34600111222")
    return cleaned


def check_pin(pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise SubscriberError("the PIN must be 4 to 8 digits")


class Subscribers:
    def __init__(self, home_path: Path, node_key: KeyPair | None = None, sealer: Sealer | None = None) -> None:
        folder = Path(home_path) / SMS_DIR
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._node_key = node_key
        self._rows = RowSealer(None if sealer is None else sealer.derive("sms-subscribers"))
        self._pepper = None if sealer is None else sealer.derive("pin-pepper")
        # Called (with the number) when a message carries that member's duress PIN: the node panics.
        self.on_duress: Callable[[str], None] | None = None
        self._lock = threading.Lock()
        self._db = open_durable_db(str(folder / "subscribers.sqlite"), _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def version(self) -> tuple[int, int]:
        """Changes whenever the table may have: SQLite's data_version counts other connections'
        commits (an `sms enroll` in another process; sqlite.org/pragma.html#pragma_data_version),
        total_changes this connection's own."""
        with self._lock:
            return self._db.execute("PRAGMA data_version").fetchone()[0], self._db.total_changes

    # --- secrets derived from the node key ---

    def _derived(self, purpose: bytes) -> bytes:
        if self._node_key is None:
            raise SubscriberError("this needs the node's secret key")
        return hashlib.blake2b(self._node_key.seed, digest_size=32, person=b"fk-sms-" + purpose).digest()

    def ident(self, number: str) -> bytes:
        """The keyed hash of a number carried in the origin of entries made for it."""
        return hashlib.blake2b(number.encode(), key=self._derived(b"ident"), digest_size=IDENT_SIZE).digest()

    def origin(self, number: str) -> Origin:
        return Origin(OriginChannel.SMS, self.ident(number))

    def member_key(self, sub: Subscriber) -> KeyPair:
        """The key the node holds for a phone-only member."""
        with self._lock:
            row = self._db.execute("SELECT sealed_seed FROM subscribers WHERE number=?",
                                   (self._rows.tag(sub.number),)).fetchone()
        if row is None or row[0] is None:
            raise SubscriberError("this member signs with their own device; the node holds no key for them")
        try:
            seed = nacl.secret.SecretBox(self._derived(b"seal")).decrypt(self._rows.open(row[0]))
        except nacl.exceptions.CryptoError:
            raise SubscriberError("the held key does not open with this node's key") from None
        return KeyPair(seed)

    # --- enrolment ---

    def enrol(
        self, number: str, pin: str, language: str, now: int, name: str = "", public_key: bytes | None = None,
        assembly: str = "", responder: bool = True, held_seed: bytes | None = None,
    ) -> Subscriber:
        """Enrol a number.  Without ``public_key`` the node makes and holds the member's key:
        from ``held_seed`` when given (simulations that must repeat for a seed), else at random."""
        number = normalize_number(number)
        check_pin(pin)
        if language not in LANGUAGES:
            raise SubscriberError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
        if self.get(number) is not None:
            raise SubscriberError(f"{number} is already enrolled: remove it first to change it")
        sealed = None
        if public_key is None:
            held = KeyPair(held_seed) if held_seed is not None else KeyPair.generate()
            public_key = held.public_key
            sealed = self._rows.seal(bytes(nacl.secret.SecretBox(self._derived(b"seal")).encrypt(held.seed)))
        elif len(public_key) != 32:
            raise SubscriberError("a public key is 32 bytes (64 hex digits)")
        pin_hash = self._rows.seal(nacl.pwhash.argon2id.str(self._peppered(pin), PIN_OPS, PIN_MEM))
        rows = self._rows
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO subscribers (number, name, language, key_id, public_key, sealed_seed, pin_hash,"
                " assembly, responder, enrolled, number_box) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (rows.tag(number), rows.seal_text(name), language, rows.seal_text(key_id(public_key).hex()),
                 rows.seal_text(public_key.hex()), sealed, pin_hash, rows.seal_text(assembly), int(responder), now,
                 rows.seal_text(number)),
            )
        sub = self.get(number)
        assert sub is not None
        return sub

    def remove(self, number: str) -> Subscriber:
        number = normalize_number(number)
        sub = self.get(number)
        if sub is None:
            raise SubscriberError(f"{number} is not enrolled (see `fieldkit sms list`)")
        with self._lock, self._db:
            self._db.execute("DELETE FROM subscribers WHERE number=?", (self._rows.tag(number),))
        return sub

    def get(self, number: str) -> Subscriber | None:
        with self._lock:
            row = self._db.execute(
                "SELECT number_box, name, language, key_id, public_key, sealed_seed IS NOT NULL, assembly, responder,"
                " stopped, notice_sent, enrolled, pin_fails, locked_until, lockouts FROM subscribers WHERE number=?",
                (self._rows.tag(number),),
            ).fetchone()
        return self._subscriber(row) if row else None

    def all(self) -> list[Subscriber]:
        with self._lock:
            rows = self._db.execute(
                "SELECT number_box, name, language, key_id, public_key, sealed_seed IS NOT NULL, assembly, responder,"
                " stopped, notice_sent, enrolled, pin_fails, locked_until, lockouts FROM subscribers ORDER BY enrolled"
            ).fetchall()
        return sorted((self._subscriber(r) for r in rows), key=lambda s: (s.enrolled, s.number))

    def _subscriber(self, row: tuple) -> Subscriber:
        o = self._rows.open_text
        return Subscriber(o(row[0]), o(row[1]), row[2], o(row[3]), o(row[4]), bool(row[5]), o(row[6]), bool(row[7]),
                          bool(row[8]), bool(row[9]), row[10], row[11], row[12], row[13])

    def _peppered(self, pin: str) -> bytes:
        """The PIN as Argon2id sees it: keyed by the node's pepper when there is a data key."""
        if self._pepper is None:
            return pin.encode()
        return self._pepper.mac(pin.encode(), 32).hex().encode()

    def set_flag(self, number: str, column: str, value: int) -> None:
        if column not in ("stopped", "notice_sent", "responder"):
            raise ValueError(column)
        with self._lock, self._db:
            self._db.execute(f"UPDATE subscribers SET {column}=? WHERE number=?", (value, self._rows.tag(number)))

    # --- PIN checks with lockout ---

    def set_duress(self, number: str, pin: str) -> None:
        """A second PIN that, sent in any command from this number, makes the node panic (issue 17)."""
        number = normalize_number(number)
        check_pin(pin)
        if self.get(number) is None:
            raise SubscriberError(f"{number} is not enrolled (see `fieldkit sms list`)")
        if self._pin_matches(number, "pin_hash", pin):
            raise SubscriberError("the duress PIN must differ from the member's PIN")
        duress = self._rows.seal(nacl.pwhash.argon2id.str(self._peppered(pin), PIN_OPS, PIN_MEM))
        with self._lock, self._db:
            self._db.execute("UPDATE subscribers SET duress_hash=? WHERE number=?", (duress, self._rows.tag(number)))

    def _pin_matches(self, number: str, column: str, pin: str) -> bool:
        with self._lock:
            row = self._db.execute(f"SELECT {column} FROM subscribers WHERE number=?",
                                   (self._rows.tag(number),)).fetchone()
        if row is None or row[0] is None:
            return False
        try:
            return nacl.pwhash.verify(self._rows.open(row[0]), self._peppered(pin))
        except nacl.exceptions.InvalidkeyError:
            return False

    def verify_pin(self, number: str, pin: str) -> bool:
        if self._pin_matches(number, "duress_hash", pin):
            if self.on_duress is not None:
                self.on_duress(number)
            return False
        return self._pin_matches(number, "pin_hash", pin)

    def record_pin(self, number: str, ok: bool, now: int, max_fails: int, base_lock: int) -> int:
        """Count a PIN attempt; after ``max_fails`` wrong ones lock for base * 2^lockouts seconds.

        Returns the time the number is locked until (0 if not locked).
        """
        tag = self._rows.tag(number)
        with self._lock, self._db:
            if ok:
                self._db.execute("UPDATE subscribers SET pin_fails=0, lockouts=0 WHERE number=?", (tag,))
                return 0
            fails, lockouts = self._db.execute(
                "SELECT pin_fails, lockouts FROM subscribers WHERE number=?", (tag,)
            ).fetchone()
            fails += 1
            until = 0
            if fails >= max_fails:
                until = now + base_lock * 2 ** min(lockouts, 10)
                self._db.execute(
                    "UPDATE subscribers SET pin_fails=0, lockouts=lockouts+1, locked_until=? WHERE number=?",
                    (until, tag),
                )
            else:
                self._db.execute("UPDATE subscribers SET pin_fails=? WHERE number=?", (fails, tag))
            return until


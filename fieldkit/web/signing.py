"""Keys stay on phones: the node prepares an entry, the phone signs its id, the node checks and appends.

1. ``prepare``: the phone names an action (vote, vouch, ...) and its public key.  The
   node builds the body with the domain's own builders (``fieldkit.domain.actions``)
   and runs it through the one check-then-sign path (``fieldkit.nodestore.trial``):
   placed as that key's next entry (seq, link to its head, the node's clock), folded
   by the store's own view and rolled back, so anything that would not count is
   refused at once with the domain's reason.  It answers with the entry id (BLAKE2b-256
   over the canonical unsigned bytes, codec/entry.py) and a short token.
2. The phone signs the 32-byte id with its Ed25519 key (static/sign.js, vendored
   @noble/ed25519): the same bytes ``codec.KeyPair.sign`` would sign.
3. ``submit``: the node verifies the signature against the key and appends through
   ``fieldkit.nodestore.act`` with that signature: the entry must still come next in
   the key's log with the same id (else nothing is written) and still count (something
   may have arrived in between).  A signature that does not verify, a token used twice,
   expired or from another session changes nothing.

The node never sees a phone's secret key.  It does choose the bytes the phone signs:
a phone trusts its node as it trusts the page the node serves.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from codec import EncodeError, Entry, FieldkitError, kinds
from codec.errors import VerifyError
from codec.keys import verify_signature
from fieldkit.domain import actions
from fieldkit.nodestore import act, trial
from sync.log import StoreError

from .node import WebNode

PREPARED_TTL_S = 300  # a phone has five minutes between "prepare" and its signature
MAX_PREPARED = 4096  # entries awaiting a signature, all sessions together (oldest dropped first)
MAX_ETA_MINUTES = 24 * 60  # the AlertAck field's range (codec/kinds.py)
MAX_ALERT_MINUTES = 7 * 24 * 60


class SigningRefused(FieldkitError):
    """A signed entry the node will not add; nothing changed."""


@dataclass(frozen=True)
class Prepared:
    token: str
    session: str
    author: bytes
    seq: int
    time: int
    body: Any
    entry_id: bytes
    expires: float


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise actions.ActionRefused(f"{name} is missing")
    return value


def _int(args: dict[str, Any], name: str, low: int, high: int) -> int:
    """A whole number, as a form sends it (text) or a script does (a JSON integer).  Nothing
    else: ``int()`` truncates 2.5, reads ``true`` as 1 and raises OverflowError on the
    Infinity Python's json accepts (a phone's request answered with a 500; found by a fuzz)."""
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise actions.ActionRefused(f"{name} must be a whole number")
    try:
        number = int(value)
    except ValueError:  # not digits, or more of them than Python reads (sys.get_int_max_str_digits)
        raise actions.ActionRefused(f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise actions.ActionRefused(f"{name} must be between {low} and {high}")
    return number


def public_key_of(text: object) -> bytes:
    if not isinstance(text, str):
        raise actions.ActionRefused("public_key is missing")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise actions.ActionRefused("public_key is not hex") from None
    if len(raw) != 32:
        raise actions.ActionRefused("a public key is 32 bytes (64 hex characters)")
    return raw


def build_body(node: WebNode, action: str, args: dict[str, Any]) -> object:
    """The body for an action a phone asks for, by the domain's own builders."""
    state = node.state()
    now = node.now()
    if action == "join":
        return actions.join(actions.find(state, "assemblies", _text(args, "assembly"), "assembly"),
                            _text(args, "name").strip())
    if action == "vouch":
        _, newcomer = actions.member_key(state, _text(args, "newcomer"))
        if newcomer is None:
            raise actions.ActionRefused("this node does not know that key yet: scan the newcomer's QR code")
        return actions.vouch(actions.find(state, "assemblies", _text(args, "assembly"), "assembly"), newcomer)
    if action == "vote":
        pid = actions.find(state, "proposals", _text(args, "proposal"), "proposal")
        return actions.ballot(state, pid, _text(args, "option"))
    if action == "ack":
        aid = actions.find(state, "alerts", _text(args, "alert"), "alert")
        eta = args.get("eta_minutes")
        return actions.ack(aid, _text(args, "status") if eta in (None, "") else "coming",
                           None if eta in (None, "") else _int(args, "eta_minutes", 0, MAX_ETA_MINUTES))
    if action == "alert":
        aid = actions.find(state, "assemblies", _text(args, "assembly"), "assembly")
        minutes = _int(args, "expires_minutes", 5, MAX_ALERT_MINUTES)
        return actions.alert_raise(aid, _text(args, "text").strip(), now + minutes * 60)
    if action == "resolve":
        aid = actions.find(state, "alerts", _text(args, "alert"), "alert")
        return actions.alert_resolve(aid, str(args.get("note") or "").strip())
    if action == "report":
        mid = actions.find(state, "proposals", _text(args, "mandate"), "mandate")
        return actions.mandate_report(mid, _text(args, "text").strip())
    if action == "witness":
        lid = actions.find(state, "ledger", _text(args, "entry"), "ledger entry")
        return kinds.LedgerWitness(actions.ref(lid))
    raise actions.ActionRefused(f"unknown action {action!r}")


class PhoneSignature:
    """A phone's signature of the id ``prepare`` gave it, as the signer ``nodestore.act`` asks for.

    ``act`` places the entry again when it appends: if the key's log moved on meanwhile,
    the id it asks to sign is another one, and nothing is written."""

    def __init__(self, public_key: bytes, entry_id: bytes, signature: bytes) -> None:
        self.public_key, self.entry_id, self.signature = public_key, entry_id, signature

    def sign(self, message: bytes) -> bytes:
        if message != self.entry_id:
            raise SigningRefused("this key signed something else in the meantime: try again")
        return self.signature


class Signer:
    """Entries prepared for phones to sign, and the check before they are added."""

    def __init__(self, node: WebNode) -> None:
        self.node = node
        self._prepared: OrderedDict[str, Prepared] = OrderedDict()

    def _not_forked(self, public_key: bytes) -> None:
        store = self.node.store
        head = store.heads().get(public_key, -1)
        if head >= 0 and len(store.ids_at(public_key, head)) != 1:
            raise SigningRefused("this key signed two different entries at one place in its log (it is flagged): "
                                 "it cannot sign more here")

    def prepare(self, session: str, public_key: bytes, body: object) -> Prepared:
        with self.node.lock:
            self._not_forked(public_key)
            now = self.node.now()
            try:
                entry = trial(self.node.store, public_key, body, now)
            except EncodeError as exc:
                raise actions.ActionRefused(exc.reason) from None
        self._expire()
        p = Prepared(secrets.token_urlsafe(18), session, public_key, entry.seq, now, body, entry.id,
                     time.monotonic() + PREPARED_TTL_S)
        self._prepared[p.token] = p
        while len(self._prepared) > MAX_PREPARED:
            self._prepared.popitem(last=False)
        return p

    def submit(self, session: str, token: str, signature_hex: str) -> Entry:
        self._expire()
        p = self._prepared.get(token)
        if p is None or p.session != session:
            raise SigningRefused("this signing request expired or was already used: try again")
        try:
            signature = bytes.fromhex(signature_hex)
        except (ValueError, TypeError):
            raise SigningRefused("the signature is not hex") from None
        if len(signature) != 64:
            raise SigningRefused("an Ed25519 signature is 64 bytes")
        try:
            verify_signature(p.author, p.entry_id, signature)
        except VerifyError:
            raise SigningRefused("the signature does not verify for this key: nothing was added") from None
        del self._prepared[p.token]
        with self.node.lock:
            self._not_forked(p.author)
            try:
                entry = act(self.node.store, PhoneSignature(p.author, p.entry_id, signature), p.body, p.time)
            except StoreError as exc:
                raise SigningRefused(f"the store did not add it: {exc}") from None
        self.node.added([entry])
        return entry

    def _expire(self) -> None:
        now = time.monotonic()
        while self._prepared:
            token, p = next(iter(self._prepared.items()))
            if p.expires > now:
                break
            del self._prepared[token]

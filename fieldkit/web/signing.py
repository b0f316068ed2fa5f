"""Keys stay on phones: the node prepares an entry, the phone signs its id, the node checks and appends.

1. ``prepare``: the phone names an action (vote, vouch, ...) and its public key.  The
   node builds the body with the domain's own builders (``fieldkit.domain.actions``),
   places it as that key's next entry (seq, link to its head, the node's clock), folds
   it onto a copy of the state and refuses at once, with the domain's reason, anything
   that would not count.  It answers with the entry id (BLAKE2b-256 over the canonical
   unsigned bytes, codec/entry.py) and a short token.
2. The phone signs the 32-byte id with its Ed25519 key (static/sign.js, vendored
   @noble/ed25519): the same bytes ``codec.KeyPair.sign`` would sign.
3. ``submit``: the node verifies the signature against the key, checks again that the
   entry still comes next in the key's log and still counts (something may have arrived
   in between), and adds the exact signed bytes to the store.  A signature that does
   not verify, a token used twice, expired or from another session changes nothing.

The node never sees a phone's secret key.  It does choose the bytes the phone signs:
a phone trusts its node as it trusts the page the node serves.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from codec import EncodeError, Entry, FieldkitError, kinds, link_to
from codec.entry import MAX_ENTRY_SIZE
from codec.errors import VerifyError
from codec.keys import verify_signature
from fieldkit.domain import actions
from fieldkit.domain.view import VIEW_NAME, all_entries
from sync.api import Outcome

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
    prev: bytes
    time: int
    body: Any
    entry_id: bytes
    expires: float
    tables: object  # the domain view's tables it was checked against: unchanged since, the check stands


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        raise actions.ActionRefused(f"{name} is missing")
    return value


def _int(args: dict[str, Any], name: str, low: int, high: int) -> int:
    value = args.get(name)
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
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


class Signer:
    """Entries prepared for phones to sign, and the check before they are added."""

    def __init__(self, node: WebNode) -> None:
        self.node = node
        self._prepared: OrderedDict[str, Prepared] = OrderedDict()

    def _place(self, public_key: bytes) -> tuple[int, bytes]:
        """(seq, link) for ``public_key``'s next entry in this store."""
        store = self.node.store
        head = store.heads().get(public_key, -1)
        if head < 0:
            return 0, b""
        ids = store.ids_at(public_key, head)
        if len(ids) != 1:
            raise SigningRefused("this key signed two different entries at one place in its log (it is flagged): "
                                 "it cannot sign more here")
        return head + 1, link_to(ids[0])

    def _check(self, entry: Entry) -> None:
        if len(entry.encode(with_key=True)) > MAX_ENTRY_SIZE:
            raise actions.ActionRefused(f"the entry would be over {MAX_ENTRY_SIZE} bytes: shorten the text")
        actions.require_counted(self.node.scratch_state(), entry, lambda: all_entries(self.node.store), scratch=True)

    def prepare(self, session: str, public_key: bytes, body: object) -> Prepared:
        with self.node.lock:
            seq, prev = self._place(public_key)
            now = self.node.now()
            entry = Entry(public_key, seq, prev, now, body, bytes(64))
            try:
                entry_id = entry.id
            except EncodeError as exc:
                raise actions.ActionRefused(exc.reason) from None
            self._check(entry)
            tables = self.node.store.view_tables(VIEW_NAME)
        self._expire()
        p = Prepared(secrets.token_urlsafe(18), session, public_key, seq, prev, now, body, entry_id,
                     time.monotonic() + PREPARED_TTL_S, tables)
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
        entry = Entry(p.author, p.seq, p.prev, p.time, p.body, signature)
        with self.node.lock:
            if self._place(p.author) != (p.seq, p.prev):
                raise SigningRefused("this key signed something else in the meantime: try again")
            if self.node.store.view_tables(VIEW_NAME) is not p.tables:  # something arrived since: check again
                self._check(entry)
            raw = entry.encode(with_key=p.seq == 0)
            result = self.node.store.add(raw, self.node.now())
        if result.outcome is not Outcome.ADDED:
            raise SigningRefused(f"the store did not add it: {result.outcome.value} {result.reason}".rstrip())
        self.node.added(list(result.applied))
        return entry

    def _expire(self) -> None:
        now = time.monotonic()
        while self._prepared:
            token, p = next(iter(self._prepared.items()))
            if p.expires > now:
                break
            del self._prepared[token]

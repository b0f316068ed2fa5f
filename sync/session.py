"""The reconciliation session between two stores over one link (sans-IO state machine).

``Session(store, mtu, role)``: ``start(now)``, ``receive(frame, now)`` and
``tick(now)`` each return the frames to send.  No clock, no I/O: time is passed in.

Round trips (initiator A, responder B)::

    1  A: HELLO digest, counts, parity map      B: EQUAL (done) or SKETCH (capacity from the map)
       [A: MORE when the sketch did not decode  B: SKETCH extension]
    2  A: HAVE its state for its authors in     B: the entries A lacks (ENTRY frames), then
          the difference, + how many of B's        REPLY: ranges B wants, whether it needs the
          elements are in it                       locator; its digest when it wants nothing
    3  A: the wanted entries, FINISH (locator)  B: entries of authors A lacks, DONE digest

A digest mismatch at the end (a 16-bit collision, lost entries) starts a new round
with another salt, at most ``MAX_ROUNDS``.  Entries go through ``store.add_many``;
each is signed, so anything that verified stays even if the session then fails.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from codec import DecodeError, Entry, FieldkitError
from codec.fragment import Fragmenter, Reassembler
from codec.frames import FrameType
from sync import plan, sketch
from sync.api import EntryStore, Outcome
from sync.messages import (
    MAX_CAPACITY,
    Assembler,
    Done,
    Equal,
    Finish,
    Have,
    Hello,
    Message,
    More,
    MsgKind,
    Reply,
    Sketch,
    Want,
    decode_body,
    decode_frame_head,
    encode_message,
)

RETRY_AFTER = 15.0  # seconds without an answer before the initiator repeats itself
MAX_RETRIES = 6
IDLE_TIMEOUT = RETRY_AFTER * (MAX_RETRIES + 1)
MAX_ROUNDS = 4
MAX_FRAMES_IN = 20000  # frames per session; beyond this the peer is misbehaving
MIN_CAPACITY = 4
NO_DECODE = MAX_CAPACITY  # HAVE.peer_elements when the sketch never decoded: "tell me all"


class Role(enum.Enum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class SyncError(FieldkitError):
    """A session ended by a malformed or hostile frame, or a peer that vanished."""


@dataclass
class Stats:
    bytes_sent: int = 0
    bytes_received: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    entry_bytes_sent: int = 0  # the entries' own bytes (short form) inside what was sent
    entries_sent: int = 0
    entries_added: int = 0
    entries_refused: int = 0
    round_trips: int = 0
    largest_frame: int = 0
    rounds: int = 0


@dataclass
class _Round:
    number: int
    states: dict[bytes, plan.LocalState]
    elems: dict[int, list[bytes]]
    aside: dict[bytes, list[Entry]]
    peer_syndromes: list[int] = field(default_factory=list)
    asked: int = 0  # capacity the initiator asked for / the responder sent
    changed: set[bytes] = field(default_factory=set)  # responder: authors in M
    mentioned: set[bytes] = field(default_factory=set)  # responder: authors A's HAVE named
    peer_elements: int = 0


class Session:
    def __init__(self, store: EntryStore, mtu: int, role: Role, max_rounds: int = MAX_ROUNDS) -> None:
        self.store = store
        self.mtu = mtu
        self.role = role
        self.max_rounds = max_rounds
        self.stats = Stats()
        self.done = False
        self.converged = False
        self.error: SyncError | None = None
        self._fragmenter = Fragmenter(mtu)
        self._reassembler = Reassembler(max_partials_per_sender=4, max_senders=1, ttl=IDLE_TIMEOUT, max_chunk=mtu)
        self._assembler = Assembler(max_chunk=mtu)
        self._round: _Round | None = None
        self._round_no = -1
        self._expect: set[MsgKind] = set()
        self._last_out: list[bytes] = []
        self._last_in: MsgKind | None = None
        self._sent_at = 0.0
        self._seen_at = 0.0
        self._retries = 0

    # --- public API ---------------------------------------------------------------

    def start(self, now: float) -> list[bytes]:
        if self.role is not Role.INITIATOR:
            self._seen_at = now
            return []
        return self._new_round(now)

    def receive(self, frame: bytes, now: float) -> list[bytes]:
        if self.error is not None or (self.done and self.role is Role.INITIATOR):
            return []  # a responder keeps answering repeats after it is done
        self.stats.frames_received += 1
        self.stats.bytes_received += len(frame)
        self._seen_at = now
        try:
            if self.stats.frames_received > MAX_FRAMES_IN:
                raise SyncError(f"peer sent more than {MAX_FRAMES_IN} frames in one session")
            return self._receive(frame, now)
        except DecodeError as exc:
            return self._fail(SyncError(f"malformed frame from peer: {exc.reason}"))
        except SyncError as exc:
            return self._fail(exc)

    def tick(self, now: float) -> list[bytes]:
        if self.done or self.error is not None:
            return []
        if self.role is Role.RESPONDER:
            if now - self._seen_at > IDLE_TIMEOUT:
                return self._fail(SyncError("peer went silent; the session can be resumed later"))
            return []
        if now - self._sent_at < RETRY_AFTER:
            return []
        self._retries += 1
        if self._retries > MAX_RETRIES:
            return self._fail(SyncError(f"no answer after {MAX_RETRIES} retries; the session can be resumed later"))
        self._sent_at = now
        return self._out(self._last_out, repeat=True)

    @property
    def overhead_bytes(self) -> int:
        return self.stats.bytes_sent - self.stats.entry_bytes_sent

    # --- dispatch -----------------------------------------------------------------

    def _receive(self, frame: bytes, now: float) -> list[bytes]:
        if not frame:
            raise DecodeError("empty frame")
        if frame[0] == FrameType.FRAGMENT:
            whole = self._reassembler.feed("peer", frame, now)
            if whole is None:
                return []
            frame = whole
            if frame[:1] != bytes((FrameType.ENTRY,)):
                raise DecodeError("only entries are fragmented in a sync session")
        if frame[0] == FrameType.ENTRY:
            self._apply([frame[1:]], now)
            return []
        if frame[0] != FrameType.SYNC:
            raise DecodeError(f"unexpected frame type 0x{frame[0]:02x} in a sync session")
        fh = decode_frame_head(frame)
        body = self._assembler.feed(fh)
        if body is None:
            return []
        msg = decode_body(fh.kind, body)
        if self.role is Role.INITIATOR:
            if fh.round_no != self._round_no & 0x7:
                return []  # a late answer to an earlier round
            return self._initiator(msg, now)
        return self._responder(fh.round_no, fh.kind, msg, now)

    def _apply(self, raws: list[bytes], now: float) -> None:
        for result in self.store.add_many(raws, int(now)):
            if result.outcome is Outcome.REFUSED:
                self.stats.entries_refused += 1
            else:
                self.stats.entries_added += len(result.applied)

    def _fail(self, error: SyncError) -> list[bytes]:
        self.error = error
        self.done = True
        return []

    def _out(self, frames: list[bytes], repeat: bool = False) -> list[bytes]:
        for f in frames:
            self.stats.bytes_sent += len(f)
            self.stats.frames_sent += 1
            self.stats.largest_frame = max(self.stats.largest_frame, len(f))
        return frames

    def _send(self, msg: Message) -> list[bytes]:
        return encode_message(msg, self._round_no, self.mtu)

    def _entry_frames(self, entries: list[Entry], keyed: set[bytes]) -> list[bytes]:
        """ENTRY frames (fragmented if needed), with the full key for authors in ``keyed``.

        Every entry of an author the peer may not know carries the key, not just the
        first: frames get reordered, and a tag-only entry that arrives before its key
        has to wait for the store to retry it.
        """
        frames: list[bytes] = []
        for e in plan.send_order(entries):
            raw = e.encode(with_key=e.author in keyed)
            frame = bytes((FrameType.ENTRY,)) + raw
            frames.extend(self._fragmenter.split(frame))
            # the entry's own bytes (short form) are not overhead; a repeat or a full key is
            self.stats.entry_bytes_sent += len(e.encode())
            self.stats.entries_sent += 1
        return frames

    # --- initiator ------------------------------------------------------------------

    def _new_round(self, now: float) -> list[bytes]:
        self._round_no += 1
        self.stats.rounds += 1
        aside = plan.kept_aside(self.store)
        states = plan.local_states(self.store, aside)
        self._round = _Round(self._round_no, states, plan.elements(self._round_no, states.values()), aside)
        hello = Hello(self.store.store_digest()[:8], len(self.store), len(states),
                      plan.parity_bits(self._elements_list()))
        return self._request(self._send(hello), {MsgKind.EQUAL, MsgKind.SKETCH}, now)

    def _elements_list(self) -> list[int]:
        assert self._round is not None
        return [e for e, authors in self._round.elems.items() for _ in authors]

    def _request(self, frames: list[bytes], expect: set[MsgKind], now: float) -> list[bytes]:
        self.stats.round_trips += 1
        self._expect = expect
        self._last_out = frames
        self._sent_at = now
        self._retries = 0
        return self._out(frames)

    def _initiator(self, msg: Message, now: float) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        if plan_kind(msg) not in self._expect:
            return []  # a duplicate, or out of turn: ignore it
        if isinstance(msg, Equal):
            return self._finish_session(True)
        if isinstance(msg, Sketch):
            if msg.offset != len(rnd.peer_syndromes):
                return []
            limit = rnd.asked or MAX_CAPACITY
            rnd.peer_syndromes.extend(msg.syndromes[: max(0, limit - msg.offset)])
            return self._decode(now)
        if isinstance(msg, Reply):
            return self._answer_reply(msg, now)
        assert isinstance(msg, Done)
        return self._check_digest(msg.digest, now)

    def _decode(self, now: float) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        c = len(rnd.peer_syndromes)
        own = sketch.sketch(self._elements_list(), c)
        result = sketch.decode_members(sketch.combine(own, rnd.peer_syndromes), rnd.elems)
        last_round = self._round_no + 1 >= self.max_rounds
        if result is None or last_round:
            if result is None and not last_round and c < MAX_CAPACITY and c < 2 * (len(rnd.states) + 64):
                rnd.asked = min(MAX_CAPACITY, 2 * c)
                return self._request(self._send(More(rnd.asked)), {MsgKind.SKETCH}, now)
            # no decode, or the last round: the full version vector, as a fallback that cannot fail
            records = tuple(s.record() for s in rnd.states.values())
            self._locator: list[int] = []
            return self._request(self._send(Have(NO_DECODE, records)), {MsgKind.REPLY}, now)
        size, members = result
        self._locator = sketch.locator(sketch.combine(own, rnd.peer_syndromes)) or []
        mine = [a for e in sorted(members) for a in rnd.elems[e]]
        records = tuple(rnd.states[a].record() for a in sorted(mine))
        peer_elements = max(0, size - sum(len(rnd.elems[e]) for e in members))
        return self._request(self._send(Have(peer_elements, records)), {MsgKind.REPLY}, now)

    def _answer_reply(self, msg: Reply, now: float) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        out: list[Entry] = []
        keyed: set[bytes] = set()
        for want in msg.wants:
            for author in self.store.keys_for_tag(want.tag):
                if author in rnd.states:
                    found = list(plan.entries_in(self.store, rnd.aside, author, want.ranges))
                    out.extend(found)
                    if want.ranges and want.ranges[0][0] == 0:
                        keyed.add(author)  # the peer holds nothing of this author: it may lack the key
        frames = self._entry_frames(out, keyed)
        if not msg.need_locator and not msg.wants and msg.digest is not None:
            return self._check_digest(msg.digest, now)
        finish = Finish(tuple(self._locator) if msg.need_locator else ())
        return self._request(frames + self._send(finish), {MsgKind.DONE}, now)

    def _check_digest(self, digest: bytes, now: float) -> list[bytes]:
        if digest == self.store.store_digest()[:8]:
            return self._finish_session(True)
        if self._round_no + 1 >= self.max_rounds:
            return self._finish_session(False)
        return self._new_round(now)

    def _finish_session(self, converged: bool) -> list[bytes]:
        self.done = True
        self.converged = converged
        return []

    # --- responder ------------------------------------------------------------------

    def _responder(self, round_no: int, kind: MsgKind, msg: Message, now: float) -> list[bytes]:
        if isinstance(msg, Hello):
            if self._round is not None and round_no == self._round_no and self._last_in == kind:
                return self._out(self._last_out, repeat=True)
            return self._on_hello(round_no, msg)
        if self._round is None or round_no != self._round_no:
            return []  # not in this round: stale or out of turn
        if kind == self._last_in and not isinstance(msg, More):
            return self._out(self._last_out, repeat=True)  # the initiator did not hear us: repeat
        if isinstance(msg, More):
            return self._on_more(msg)
        if isinstance(msg, Have):
            return self._on_have(msg)
        if isinstance(msg, Finish):
            return self._on_finish(msg)
        raise SyncError(f"a responder does not expect {kind.name}")

    def _reply(self, kind: MsgKind, frames: list[bytes]) -> list[bytes]:
        self._last_in = kind
        self._last_out = frames
        return self._out(frames)

    def _on_hello(self, round_no: int, msg: Hello) -> list[bytes]:
        self._round_no = round_no
        self.done = False
        if msg.digest == self.store.store_digest()[:8]:
            self._round = None
            frames = self._reply(MsgKind.HELLO, self._send(Equal()))
            self.done = self.converged = True
            return frames
        aside = plan.kept_aside(self.store)
        states = plan.local_states(self.store, aside)
        self._round = rnd = _Round(round_no, states, plan.elements(round_no, states.values()), aside)
        mine = self._elements_list()
        estimate = plan.estimate_difference(plan.parity_bits(mine) ^ msg.parity)
        if estimate is None:
            bound = 2 * abs(msg.entries - len(self.store)) + 2
            estimate = min(len(states) + msg.authors, max(bound, 64))
        rnd.asked = max(MIN_CAPACITY, min(MAX_CAPACITY, estimate + estimate // 4 + 2))
        syndromes = sketch.sketch(mine, rnd.asked)
        return self._reply(MsgKind.HELLO, self._send(Sketch(0, tuple(syndromes))))

    def _on_more(self, msg: More) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        if msg.capacity <= rnd.asked:
            return self._out(self._last_out, repeat=True)
        syndromes = sketch.sketch(self._elements_list(), msg.capacity)
        frames = self._send(Sketch(rnd.asked, tuple(syndromes[rnd.asked :])))
        rnd.asked = msg.capacity
        return self._reply(MsgKind.MORE, frames)

    def _on_have(self, msg: Have) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        out: list[Entry] = []
        keyed: set[bytes] = set()
        wants: list[Want] = []
        for rec in msg.records:
            known = [a for a in self.store.keys_for_tag(rec.tag)]
            mine = [a for a in known if a in rnd.states]
            for author in mine:
                rnd.mentioned.add(author)
                state = rnd.states[author]
                if not state.same_as(rec):
                    rnd.changed.add(author)
                    out.extend(plan.entries_for(self.store, rnd.aside, author, rec))
                    if rec.head < 0:
                        keyed.add(author)
            ranges = plan.wants_from(rnd.states[mine[0]] if len(mine) == 1 else None, rec)
            if ranges and len(mine) <= 1:
                wants.append(Want(rec.tag, ranges))
        rnd.peer_elements = msg.peer_elements
        if msg.peer_elements == NO_DECODE:
            for author in rnd.states.keys() - rnd.mentioned:
                out.extend(plan.entries_for(self.store, rnd.aside, author, None))
                keyed.add(author)
        need_locator = msg.peer_elements != NO_DECODE and len(rnd.changed) < msg.peer_elements
        frames = self._entry_frames(out, keyed)
        digest = None if wants or need_locator else self.store.store_digest()[:8]
        reply = Reply(need_locator, tuple(wants), digest)
        frames += self._send(reply)
        if digest is not None:
            self.done = self.converged = True
        return self._reply(MsgKind.HAVE, frames)

    def _on_finish(self, msg: Finish) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        out: list[Entry] = []
        if msg.locator:
            loc = list(msg.locator)
            if loc[0] != 1:
                raise SyncError("locator polynomial must start with 1")
            for elem, authors in rnd.elems.items():
                if sketch.is_member(loc, elem):
                    for author in authors:
                        if author not in rnd.mentioned:
                            out.extend(plan.entries_for(self.store, rnd.aside, author, None))
        frames = self._entry_frames(out, {e.author for e in out})
        frames += self._send(Done(self.store.store_digest()[:8]))
        self.done = self.converged = True
        return self._reply(MsgKind.FINISH, frames)


def plan_kind(msg: Message) -> MsgKind:
    from sync.messages import KIND_OF_MESSAGE

    return KIND_OF_MESSAGE[type(msg)]

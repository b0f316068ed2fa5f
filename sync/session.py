"""The reconciliation session between two stores over one link (sans-IO state machine).

``Session(reader, mtu, role)``: ``start(now)``, ``receive(frame, now)`` and ``tick(now)``
each return :class:`Events` -- the frames to send, and the signed entries received (raw
bytes, exactly as they came: the caller's store decodes and verifies them).  Like h11,
the session never touches the world: no clock (time is passed in), no I/O, and **no
writes to the store**.  It reads the store through the read-only
:class:`sync.api.SyncReader`; the caller stores the entries an event carries *before*
its next call (the session reads the digest after the peer's entries to know whether the
stores agree), and reports the outcome with :meth:`Session.stored` so the stats say how
many entries were really added.

Each side's version vector is a set of (position, value) pairs: the author's salted
16-bit position and its top (highest seq held) + 1.  Reed-Solomon syndromes of the
vector (sketch.weighted_sketch) XOR'ed with the peer's decode which authors differ *and
the peer's top for each* (Forney), 4 bytes per author with news, so the decoding side
sends what is missing at once.  Gaps below a top (entries kept aside for a missing
predecessor) are not in the vector: each side asks for its own in its first message of
a round (the gaps flag of sync/messages.py, or REPLY's wants), and the peer sends them
with its next frames -- so nothing the asker keeps aside is sent to it again.
The side holding more entries decodes.  Round trips (initiator A, responder B)::

    1  A: HELLO digest, entry count, parity     B: EQUAL; or (B decodes) entries + REPLY,
          map, 3 syndromes (one author)            or entries + DONE when it wants nothing;
                                                   or MORE; or (A holds more) its SKETCH
       [A: SKETCH / MORE until it decodes       B: entries + REPLY / DONE / SKETCH]
    2  A: entries + FINISH (what it wants)      B: entries + DONE digest

DONE carries B's digest (A compares after storing: done).  HEADS says "send me what
follows my top" for the authors where A is ahead.  REPLY carries the heads or ranges B
wants, a locator of positions the decoder does not know (authors it lacks, which the
other side then sends with their keys), and full states for authors whose position was
ambiguous.  A digest mismatch at the end starts a new round with another salt; the last
round sends the full version vector (HAVE), which cannot fail.

Each role has an explicit :class:`State`; ``EXPECTS`` is the transition table: the
message kinds each (role, state) accepts.  Anything else -- a kind out of turn, a stale
round -- is dropped and changes nothing.  A repeated request (the peer did not hear the
answer) is answered with the control message only, never with the entries again; the
initiator repeats only its control message too, and only after ``RETRY_AFTER`` seconds
without *any* frame of the session (entry frames of an answer still arriving restart the
timer).  A lost entry costs a digest mismatch and another round, not a resent batch.

An entry larger than the MTU goes alone in a frame the link fragments (codec/fragment.py,
the one fragmentation layer, with its own id space and a check binding the pieces): a
session never fragments, and ``stats`` counts what goes on the air.  A sync message
larger than the MTU is cut into its own parts (sync/messages.py: 3 bytes a part, no id);
going through the link's fragments instead would cost 4 bytes a piece plus the 4-byte
check, which puts the 200-author, 100-entry case of ``bench sync`` over its target.

:func:`route_hello` is the node's side of a HELLO: answer it in the current session, in
a new responder session, or not at all (both peers started at once: the one with the
larger digest answers; equal digests answer at once, so two in-sync nodes started
together do not both wait for each other).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from codec import DecodeError, Entry, FieldkitError, split_entries
from codec.fragment import piece_sizes
from codec.frames import FrameType, frame_type
from sync import plan, reconcile
from sync.api import SyncReader
from sync.messages import (
    CHECK_SIZE,
    DIGEST_SIZE,
    KIND_OF_MESSAGE,
    MAX_CAPACITY,
    ROUND_MASK,
    Assembler,
    Done,
    Equal,
    Finish,
    Have,
    Heads,
    Hello,
    Message,
    More,
    MsgKind,
    Reply,
    Sketch,
    Want,
    decode_body,
    decode_frame_head,
    decode_message,
    encode_message,
)
from sync.packing import pack_entries
from sync.reconcile import FIRST_SYNDROMES, Round

RETRY_AFTER = 15.0  # seconds without any frame of the session before the initiator repeats itself
MAX_RETRIES = 6
IDLE_TIMEOUT = RETRY_AFTER * (MAX_RETRIES + 1)
MAX_ROUNDS = 3
MAX_FRAMES_IN = 20000  # frames per session; beyond this the peer is misbehaving
NO_DECODE = MAX_CAPACITY  # HAVE.peer_elements for the full version vector


class Role(enum.Enum):
    INITIATOR = "initiator"
    RESPONDER = "responder"


class State(enum.Enum):
    IDLE = "idle"  # initiator: not started; responder: waiting for HELLO (or HAVE)
    SENT_HELLO = "sent-hello"  # initiator: HELLO out, any first answer
    SENT_SKETCH = "sent-sketch"  # initiator: more of its syndromes out (the responder decodes)
    SENT_MORE = "sent-more"  # initiator: asked the responder for a longer sketch (it decodes)
    SENT_FINISH = "sent-finish"  # initiator: its entries and FINISH out, waiting for DONE
    SENT_HAVE = "sent-have"  # initiator: the full version vector out (the last round)
    ANSWERED_MORE = "answered-more"  # responder: asked for more syndromes
    ANSWERED_SKETCH = "answered-sketch"  # responder: sent its sketch for the initiator to decode
    ANSWERED_REPLY = "answered-reply"  # responder: sent entries and REPLY/HEADS, waiting for FINISH
    DONE = "done"  # ended; a responder still answers repeats (control only) and a next round
    FAILED = "failed"  # ended by a malformed frame, a silent peer or a broken limit


_I, _R = Role.INITIATOR, Role.RESPONDER
_NEXT_ROUND = frozenset({MsgKind.HELLO, MsgKind.HAVE})  # a responder takes them in any state (new round)
EXPECTS: dict[tuple[Role, State], frozenset[MsgKind]] = {
    (_I, State.SENT_HELLO): frozenset(
        {MsgKind.EQUAL, MsgKind.MORE, MsgKind.REPLY, MsgKind.HEADS, MsgKind.DONE, MsgKind.SKETCH}),
    (_I, State.SENT_SKETCH): frozenset({MsgKind.MORE, MsgKind.REPLY, MsgKind.HEADS, MsgKind.DONE}),
    (_I, State.SENT_MORE): frozenset({MsgKind.SKETCH}),
    (_I, State.SENT_FINISH): frozenset({MsgKind.DONE}),
    (_I, State.SENT_HAVE): frozenset({MsgKind.REPLY}),
    (_R, State.IDLE): _NEXT_ROUND,
    (_R, State.ANSWERED_MORE): _NEXT_ROUND | {MsgKind.SKETCH},
    (_R, State.ANSWERED_SKETCH): _NEXT_ROUND | {MsgKind.MORE, MsgKind.FINISH},
    (_R, State.ANSWERED_REPLY): _NEXT_ROUND | {MsgKind.FINISH},
    (_R, State.DONE): _NEXT_ROUND,
}


class SyncError(FieldkitError):
    """A session ended by a malformed or hostile frame, or a peer that vanished."""


@dataclass
class Events:
    """What one call asks of the caller: frames to send (in order), entries to store."""

    send: list[bytes] = field(default_factory=list)
    entries: list[bytes] = field(default_factory=list)  # signed entries as received, not yet verified


@dataclass
class Stats:
    bytes_sent: int = 0
    bytes_received: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    entry_bytes_sent: int = 0  # the entries' own bytes (short form) inside what was sent
    entry_framing_sent: int = 0  # what the link's fragments add to entries larger than the MTU
    entries_sent: int = 0
    entries_received: int = 0  # handed to the caller to store
    entries_added: int = 0  # the caller's report (Session.stored): joined its log
    entries_refused: int = 0  # the caller's report: refused by its store
    round_trips: int = 0
    largest_frame: int = 0
    rounds: int = 0
    ignored: int = 0  # sync messages dropped: out of turn, a stale round, or a repeat after the end
    repeats_answered: int = 0  # repeated requests answered with the control message only


def _kind(msg: Message) -> MsgKind:
    return KIND_OF_MESSAGE[type(msg)]


class Session:
    def __init__(self, reader: SyncReader, mtu: int, role: Role, max_rounds: int = MAX_ROUNDS) -> None:
        self.reader = reader
        self.mtu = mtu
        self.role = role
        self.max_rounds = max_rounds
        self.stats = Stats()
        self.state = State.IDLE
        self.converged = False
        self.error: SyncError | None = None
        self.opened_by: bytes | None = None  # responder: the HELLO frame that opened the session
        self.digest_at_open = b""  # responder: our store digest then (a repeat is one only if unchanged)
        self._assembler = Assembler(max_chunk=mtu)
        self._round: Round | None = None
        self._round_no = -1
        self._last_control: list[bytes] = []  # our last request or answer, without its entries
        self._last_in: MsgKind | None = None  # responder: the request kind last answered
        self._sent_at = 0.0  # initiator: last request (or retry) sent
        self._seen_at = 0.0  # last frame of this session received
        self._retries = 0

    # --- public API ---------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.state in (State.DONE, State.FAILED)

    @property
    def active(self) -> bool:
        return not self.done

    def start(self, now: float) -> Events:
        self._seen_at = now
        if self.role is not Role.INITIATOR or self.state is not State.IDLE:
            return Events()
        return Events(self._new_round(now))

    def receive(self, frame: bytes, now: float) -> Events:
        if self.state is State.FAILED or (self.done and self.role is Role.INITIATOR):
            return Events()  # a responder keeps answering repeats after it is done
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

    def tick(self, now: float) -> Events:
        if self.done:
            return Events()
        if self.role is Role.RESPONDER:
            if self.state is not State.IDLE and now - self._seen_at > IDLE_TIMEOUT:
                return self._fail(SyncError("peer went silent; the session can be resumed later"))
            return Events()
        if now - max(self._sent_at, self._seen_at) < RETRY_AFTER:
            return Events()  # an answer is still arriving, or not due yet
        self._retries += 1
        if self._retries > MAX_RETRIES:
            return self._fail(SyncError(f"no answer after {MAX_RETRIES} retries; the session can be resumed later"))
        self._sent_at = now
        return Events(self._out(self._last_control))  # the request again, never its entries

    def stored(self, added: int, refused: int) -> None:
        """The caller's report on the entries of the last event: how many joined its log."""
        self.stats.entries_added += added
        self.stats.entries_refused += refused

    @property
    def overhead_bytes(self) -> int:
        """Every byte sent except the entries' own bytes (short form, first sending)."""
        return self.stats.bytes_sent - self.stats.entry_bytes_sent

    @property
    def round_no(self) -> int:
        return self._round_no

    # --- plumbing -------------------------------------------------------------------

    def _receive(self, frame: bytes, now: float) -> Events:
        kind = frame_type(frame)
        if kind is FrameType.ENTRY:
            try:
                raws = split_entries(frame)
            except DecodeError:
                raws = [frame]  # the caller's store refuses it (and says why); the session goes on
            self.stats.entries_received += len(raws)
            return Events(entries=raws)
        if kind is not FrameType.SYNC:
            raise DecodeError(f"unexpected {kind.name} frame in a sync session (fragments are joined by the link)")
        fh = decode_frame_head(frame)
        body = self._assembler.feed(fh)
        if body is None:
            return Events()
        msg, gaps = decode_message(fh, body)
        if self.role is Role.INITIATOR:
            return Events(self._initiator(fh.round_no, fh.kind, msg, gaps, now))
        return Events(self._responder(fh.round_no, fh.kind, msg, gaps))

    def _expects(self, kind: MsgKind) -> bool:
        return kind in EXPECTS.get((self.role, self.state), frozenset())

    def _ignore(self) -> list[bytes]:
        self.stats.ignored += 1
        return []

    def _fail(self, error: SyncError) -> Events:
        self.error = error
        self.state = State.FAILED
        return Events()

    def _out(self, frames: list[bytes]) -> list[bytes]:
        """Counted as they go on the air: a frame larger than the MTU as the link's fragments."""
        for f in frames:
            pieces = piece_sizes(len(f), self.mtu)
            self.stats.bytes_sent += sum(pieces)
            self.stats.frames_sent += len(pieces)
            self.stats.largest_frame = max(self.stats.largest_frame, *pieces)
        return frames

    def _control(self, msg: Message, gaps: tuple[Want, ...] = ()) -> list[bytes]:
        return encode_message(msg, self._round_no, self.mtu, gaps)

    def _note_gaps(self, gaps: tuple[Want, ...]) -> None:
        """The peer's gap wants: what we hold of them goes with our next frames (once a round)."""
        rnd = self._round
        if rnd is None or not gaps or rnd.gaps_served:
            return
        rnd.gaps_served = True
        rnd.gap_out.extend(reconcile.wanted(self.reader, rnd, gaps, keyed=False)[0])

    def _ask_gaps(self, rnd: Round) -> tuple[Want, ...]:
        """Our own gap wants, the first time we speak in a round."""
        if rnd.gaps_asked:
            return ()
        rnd.gaps_asked = True
        return rnd.gap_wants()

    def _entry_frames(self, entries: list[Entry], keyed: set[bytes]) -> list[bytes]:
        """Frames of ``entries`` (sync/packing.py), with what the peer's gap wants asked for."""
        if self._round is not None and self._round.gap_out:
            entries = [*self._round.gap_out, *entries]
            self._round.gap_out.clear()
        if not entries:
            return []
        packed = pack_entries(entries, keyed, self.mtu)
        self.stats.entries_sent += packed.entries
        self.stats.entry_bytes_sent += packed.entry_bytes
        self.stats.entry_framing_sent += packed.framing_bytes
        return packed.frames

    def _begin_round(self, round_no: int) -> Round:
        self._round = Round.begin(self.reader, round_no)
        return self._round

    # --- initiator ------------------------------------------------------------------

    def _new_round(self, now: float) -> list[bytes]:
        self._round_no += 1
        self.stats.rounds += 1
        rnd = self._begin_round(self._round_no)
        if self._round_no + 1 >= self.max_rounds and self._round_no > 0:
            # the last round: the full version vector, which cannot fail to decode
            records = tuple(s.record() for s in rnd.states.values())
            return self._request([], self._control(Have(NO_DECODE, records)), State.SENT_HAVE, now)
        hello = Hello(self.reader.store_digest()[:DIGEST_SIZE], len(self.reader), plan.pair_parity(rnd.pairs()),
                      tuple(rnd.syndromes(FIRST_SYNDROMES)))
        rnd.sent = FIRST_SYNDROMES
        return self._request([], self._control(hello, self._ask_gaps(rnd)), State.SENT_HELLO, now)

    def _request(self, entries: list[bytes], control: list[bytes], state: State, now: float) -> list[bytes]:
        """Send our entries (once) and a request; a retry repeats the request alone."""
        self.stats.round_trips += 1
        self.state = state
        self._last_control = control
        self._sent_at = now
        self._retries = 0
        return self._out(entries + control)

    def _initiator(
        self, round_no: int, kind: MsgKind, msg: Message, gaps: tuple[Want, ...], now: float
    ) -> list[bytes]:
        if round_no != self._round_no & ROUND_MASK or not self._expects(kind):
            return self._ignore()  # a late answer to an earlier round, a repeat, or out of turn
        rnd = self._round
        assert rnd is not None
        self._note_gaps(gaps)
        if isinstance(msg, Equal):
            return self._finish_session(True)
        if isinstance(msg, More):  # the responder decodes and needs more of our syndromes
            if msg.capacity <= rnd.sent:
                return self._ignore()
            syn = rnd.syndromes(msg.capacity)
            control = self._control(Sketch(rnd.sent, tuple(syn[rnd.sent :])))
            rnd.sent = msg.capacity
            return self._request(self._entry_frames([], set()), control, State.SENT_SKETCH, now)
        if isinstance(msg, Sketch):  # the responder asks us to decode: we have the news
            if msg.offset != len(rnd.peer_syndromes):
                return self._ignore()
            rnd.peer_syndromes.extend(msg.syndromes)
            decoded = reconcile.decode(self.reader, rnd)
            if decoded is None:
                n = len(rnd.peer_syndromes)
                if n >= MAX_CAPACITY:
                    return self._next_round(now)
                control = self._control(More(reconcile.extend(n)))
                return self._request(self._entry_frames([], set()), control, State.SENT_MORE, now)
            frames = self._entry_frames(decoded.out, decoded.keyed)
            finish = Finish(tuple(decoded.wants), None, decoded.locator, tuple(decoded.records), tuple(decoded.heads))
            return self._request(frames, self._control(finish), State.SENT_FINISH, now)
        if isinstance(msg, Reply):
            return self._on_reply(rnd, msg, now)
        if isinstance(msg, Done):
            return self._check_digest(msg.digest, now)
        return self._ignore()

    def _on_reply(self, rnd: Round, msg: Reply, now: float) -> list[bytes]:
        out, keyed, wants = reconcile.serve(self.reader, rnd, msg)
        frames = self._entry_frames(out, keyed)
        if msg.digest is not None and not out and not wants:
            return self._out(frames) + self._check_digest(msg.digest, now)
        return self._request(frames, self._control(Finish(tuple(wants))), State.SENT_FINISH, now)

    def _next_round(self, now: float) -> list[bytes]:
        if self._round_no + 1 >= self.max_rounds:
            return self._finish_session(False)
        return self._new_round(now)

    def _check_digest(self, digest: bytes, now: float) -> list[bytes]:
        if digest == self._check():
            return self._finish_session(True)
        return self._next_round(now)

    def _check(self) -> bytes:
        return self.reader.store_digest()[:CHECK_SIZE]

    def _finish_session(self, converged: bool) -> list[bytes]:
        self.state = State.DONE
        self.converged = converged
        return []

    # --- responder ------------------------------------------------------------------

    def _is_repeat(self, round_no: int, kind: MsgKind, msg: Message) -> bool:
        """A request we answered already (the initiator did not hear us)."""
        if self._round_no != round_no:
            return False
        rnd = self._round
        if isinstance(msg, Sketch):
            return rnd is not None and msg.offset + len(msg.syndromes) <= len(rnd.peer_syndromes)
        if isinstance(msg, More):
            return rnd is not None and msg.capacity <= rnd.sent
        return kind == self._last_in

    def _responder(self, round_no: int, kind: MsgKind, msg: Message, gaps: tuple[Want, ...]) -> list[bytes]:
        if self._last_in is not None and self._is_repeat(round_no, kind, msg):
            self.stats.repeats_answered += 1
            return self._out(self._last_control)  # the answer again, never its entries
        if kind in _NEXT_ROUND:
            if self._last_in is not None and (round_no == self._round_no or self.stats.rounds >= self.max_rounds):
                return self._ignore()  # a stale request of this round, or past the rounds allowed
            self._round_no = round_no
            self.stats.rounds += 1
            if isinstance(msg, Have):
                return self._on_full(msg)
            assert isinstance(msg, Hello)
            return self._on_hello(msg, gaps)
        if round_no != self._round_no or not self._expects(kind) or self._round is None:
            return self._ignore()  # not in this round, or out of turn
        self._note_gaps(gaps)
        if isinstance(msg, Sketch):
            return self._on_sketch(msg)
        if isinstance(msg, More):
            return self._on_more(msg)
        if isinstance(msg, Finish):
            return self._on_finish(msg)
        return self._ignore()  # pragma: no cover - EXPECTS admits nothing else here

    def _answer(self, kind: MsgKind, entries: list[bytes], control: list[bytes], state: State) -> list[bytes]:
        self._last_in = kind
        self._last_control = control
        self.state = state
        if state is State.DONE:
            self.converged = True
        return self._out(entries + control)

    def _on_hello(self, msg: Hello, gaps: tuple[Want, ...]) -> list[bytes]:
        if msg.digest == self.reader.store_digest()[:DIGEST_SIZE]:
            self._round = None
            return self._answer(MsgKind.HELLO, [], self._control(Equal()), State.DONE)
        rnd = self._begin_round(self._round_no)
        rnd.peer_syndromes = list(msg.syndromes)
        rnd.peer_entries = msg.entries
        rnd.peer_parity = msg.parity
        self._note_gaps(gaps)
        return self._try_decode(rnd, MsgKind.HELLO)

    def _on_sketch(self, msg: Sketch) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        if msg.offset != len(rnd.peer_syndromes):
            raise SyncError("sketch extension does not continue the syndromes received")
        rnd.peer_syndromes.extend(msg.syndromes)
        return self._try_decode(rnd, MsgKind.SKETCH)

    def _try_decode(self, rnd: Round, kind: MsgKind) -> list[bytes]:
        decoded = reconcile.decode(self.reader, rnd)
        if decoded is None:
            n = len(rnd.peer_syndromes)
            gap_frames = self._entry_frames([], set())
            if n >= MAX_CAPACITY:
                # give up on the sketch: a digest that matches nothing makes the initiator
                # move on to the next round (and the full version vector in the last one)
                return self._answer(kind, gap_frames, self._control(Reply(digest=b"\0" * CHECK_SIZE)), State.DONE)
            if kind == MsgKind.HELLO and rnd.peer_entries > len(self.reader):
                # the initiator holds more: it likely has the news, so it decodes our sketch
                rnd.sent = reconcile.capacity(rnd, len(self.reader))
                sketch_msg = Sketch(0, tuple(rnd.syndromes(rnd.sent)))
                control = self._control(sketch_msg, self._ask_gaps(rnd))
                return self._answer(kind, gap_frames, control, State.ANSWERED_SKETCH)
            more = More(reconcile.capacity(rnd, len(self.reader)))
            return self._answer(kind, gap_frames, self._control(more, self._ask_gaps(rnd)), State.ANSWERED_MORE)
        decoded.wants.extend(self._ask_gaps(rnd))  # in REPLY's own field, as WANT records
        frames = self._entry_frames(decoded.out, decoded.keyed)
        if decoded.quiet:  # we want nothing: our digest (DONE) lets the initiator check and stop
            return self._answer(kind, frames, self._control(Done(self._check())), State.DONE)
        reply: Reply
        if decoded.heads and not (decoded.wants or decoded.locator or decoded.records):
            reply = Heads(heads=tuple(decoded.heads))  # the common case: plain tails, no flags byte
        else:
            reply = Reply(tuple(decoded.wants), None, decoded.locator, tuple(decoded.records), tuple(decoded.heads))
        return self._answer(kind, frames, self._control(reply), State.ANSWERED_REPLY)

    def _on_more(self, msg: More) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        syn = rnd.syndromes(msg.capacity)
        control = self._control(Sketch(rnd.sent, tuple(syn[rnd.sent :])))
        rnd.sent = msg.capacity
        return self._answer(MsgKind.MORE, self._entry_frames([], set()), control, State.ANSWERED_SKETCH)

    def _on_full(self, msg: Have) -> list[bytes]:
        rnd = self._begin_round(self._round_no)
        out, keyed, wants, mentioned = reconcile.against_records(self.reader, rnd, msg.records)
        for author in rnd.states.keys() - mentioned:  # authors the initiator does not have
            out.extend(plan.entries_for(self.reader, rnd.aside, author, None))
            keyed.add(author)
        frames = self._entry_frames(out, keyed)
        if wants:
            return self._answer(MsgKind.HAVE, frames, self._control(Reply(tuple(wants))), State.ANSWERED_REPLY)
        return self._answer(MsgKind.HAVE, frames, self._control(Reply((), self._check())), State.DONE)

    def _on_finish(self, msg: Finish) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        # what the initiator's records show we lack waits for the next session
        out, keyed, _ = reconcile.serve(self.reader, rnd, msg)
        frames = self._entry_frames(out, keyed)
        return self._answer(MsgKind.FINISH, frames, self._control(Done(self._check())), State.DONE)


# --- the node's side of a HELLO ---------------------------------------------------------


class Route(enum.Enum):
    SESSION = "session"  # give the frame to the current session
    NEW_RESPONDER = "new-responder"  # open a responder session (it replaces the current one) and give it the frame
    DROP = "drop"  # nothing to do: a stray frame, or the peer answers our own HELLO


def route_frame(current: Session | None, frame: bytes, reader: SyncReader) -> Route:
    """Where a SYNC frame from a peer goes, given the node's session with that peer.

    Raises DecodeError for a frame whose head is malformed.  A HELLO opens a responder
    session unless it repeats the one that opened the current session, continues it
    with a next round, or crosses our own HELLO: then the peer whose store digest is
    larger answers (equal digests: both answer, with EQUAL, and both are done).
    """
    head = decode_frame_head(frame)
    if head.kind is not MsgKind.HELLO or head.index:
        return Route.SESSION if current is not None else Route.DROP  # later parts of a HELLO too
    if current is None or current.state is State.FAILED:
        return Route.NEW_RESPONDER
    if current.role is Role.INITIATOR:
        if current.done:
            return Route.NEW_RESPONDER
        if head.last:
            return Route.NEW_RESPONDER  # a multi-part HELLO: cannot compare before it is whole; answer it
        try:
            hello = decode_message(head, head.chunk)[0] if head.gaps else decode_body(MsgKind.HELLO, head.chunk)
        except DecodeError:
            return Route.NEW_RESPONDER  # the responder session refuses it with the reason
        assert isinstance(hello, Hello)
        mine = reader.store_digest()[:DIGEST_SIZE]
        return Route.NEW_RESPONDER if mine >= hello.digest else Route.DROP
    if frame == current.opened_by and reader.store_digest() == current.digest_at_open:
        return Route.SESSION  # a repeat, nothing changed here since: the session answers it (control only)
    if head.round_no != 0:
        return Route.SESSION  # the same session's next round (the session drops what it does not expect)
    return Route.NEW_RESPONDER


def open_responder(reader: SyncReader, mtu: int, hello_frame: bytes) -> Session:
    """A responder session for the HELLO frame that opens it (see :func:`route_frame`)."""
    session = Session(reader, mtu, Role.RESPONDER)
    session.opened_by = hello_frame
    session.digest_at_open = reader.store_digest()
    return session

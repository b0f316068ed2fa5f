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

What a peer can make a session do is bounded (issue 13).  Wants, heads and records are
merged per author before serving (sync/reconcile.py); a locator or a sketch longer than
the syndromes exchanged allow ends the session.  Entries and bytes are capped per answer
(MAX_ANSWER_*) and per session (MAX_SESSION_BYTES), and counted against the peer's
:class:`sync.budget.PeerBudget` (bytes and entries per hour, held by the node per peer):
what is over a cap is withheld for a later session, and a session whose next message
would overrun the budget ends without sending it.  Decoding runs in slices of at most
WORK_SLICE units of work per call (``busy`` says more is left; ``tick`` continues it),
at most MAX_SESSION_WORK per session and within the peer's hourly work budget, so no
single message holds the node for long.

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

from collections.abc import Iterator

from codec import DecodeError, Entry, split_entries
from codec.fragment import piece_sizes
from codec.frames import FrameType, frame_type
from sync import plan, reconcile
from sync.api import SyncReader
from sync.budget import PeerBudget
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
    decode_frame_head,
    decode_message,
    encode_message,
)
from sync.packing import pack_entries
from sync.reconcile import FIRST_SYNDROMES, Round, ServeError
from sync.sketch import Steps
from sync.states import _NEXT_ROUND, EXPECTS, Events, Role, State, Stats, SyncError

RETRY_AFTER = 15.0  # seconds without any frame of the session before the initiator repeats itself
MAX_RETRIES = 6
IDLE_TIMEOUT = RETRY_AFTER * (MAX_RETRIES + 1)
MAX_ROUNDS = 3
MAX_FRAMES_IN = 20000  # frames per session; beyond this the peer is misbehaving
NO_DECODE = MAX_CAPACITY  # HAVE.peer_elements for the full version vector
# Work (GF(2^16) multiplications, roughly: sync/sketch.py) done in one call to receive or
# tick.  About 1-2.5 us a unit in pure Python on this machine (2.4M units of a hostile
# 1,024-syndrome sketch took 2.8 s on a loaded machine): 10,000 units stay well under the
# 0.05 s a hostile message may cost (issue 13: a 2 KB SKETCH took 1.6-1.9 s in one go).
# A larger decode goes on over the node's ticks (every 0.2 s, fieldkit/node/runner.py),
# so an alert that arrives meanwhile waits a slice, not the whole decode.
WORK_SLICE = 10_000
MAX_SESSION_WORK = 8_000_000  # a whole session's decoding (a full 1,024-syndrome sketch is ~5M), then it ends
# Entries and bytes in one answer and in one session; the rest waits for a later round or
# session, and the per-peer budget (sync/budget.py) caps what sessions add up to.
MAX_ANSWER_ENTRIES = 256
MAX_ANSWER_BYTES = 24_000
MAX_SESSION_BYTES = 64_000
# Entries one message may make us read from the store (serving reads an author's chain
# from the peer's head on, and filters): a few times what one answer may carry, and none
# at all once the peer's entry budget is spent -- so a hostile request costs no store scan.
READS_PER_ANSWER = 4 * MAX_ANSWER_ENTRIES


class _ReadCap:
    """The reader, with at most ``left`` entries read through ``entries_of`` (then none)."""

    def __init__(self, reader: SyncReader, left: int) -> None:
        self.reader = reader
        self.left = left

    def entries_of(self, author: bytes, after_seq: int = -1) -> Iterator[Entry]:
        if self.left <= 0:
            return
        for e in self.reader.entries_of(author, after_seq):
            self.left -= 1
            yield e
            if self.left <= 0:
                return

    def store_digest(self) -> bytes:
        return self.reader.store_digest()

    def heads(self) -> dict[bytes, int]:
        return self.reader.heads()

    def gaps(self) -> dict[bytes, list[tuple[int, int]]]:
        return self.reader.gaps()

    def pending_entries(self) -> list[Entry]:
        return self.reader.pending_entries()

    def keys_for_tag(self, tag: bytes) -> list[bytes]:
        return self.reader.keys_for_tag(tag)

    def __len__(self) -> int:
        return len(self.reader)


def _kind(msg: Message) -> MsgKind:
    return KIND_OF_MESSAGE[type(msg)]


class Session:
    def __init__(
        self, reader: SyncReader, mtu: int, role: Role, max_rounds: int = MAX_ROUNDS,
        budget: PeerBudget | None = None,
    ) -> None:
        self.reader = reader
        self.mtu = mtu
        self.role = role
        self.max_rounds = max_rounds
        self.budget = budget if budget is not None else PeerBudget()  # the node passes the peer's own
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
        self._now = 0.0
        self._job: Steps[list[bytes]] | None = None  # work in progress, continued by tick

    # --- public API ---------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.state in (State.DONE, State.FAILED)

    @property
    def active(self) -> bool:
        return not self.done

    @property
    def busy(self) -> bool:
        """Work is left that ``tick`` continues (call it soon; it answers when done)."""
        return self._job is not None and not self.done

    def start(self, now: float) -> Events:
        self._seen_at = self._now = now
        if self.role is not Role.INITIATOR or self.state is not State.IDLE:
            return Events()
        return self._guarded(lambda: Events(self._new_round(now)))

    def receive(self, frame: bytes, now: float) -> Events:
        if self.state is State.FAILED or (self.done and self.role is Role.INITIATOR):
            return Events()  # a responder keeps answering repeats after it is done
        self.stats.frames_received += 1
        self.stats.bytes_received += len(frame)
        self._seen_at = self._now = now
        if self.stats.frames_received > MAX_FRAMES_IN:
            return self._fail(SyncError(f"peer sent more than {MAX_FRAMES_IN} frames in one session"))
        return self._guarded(lambda: self._receive(frame, now))

    def _guarded(self, step) -> Events:  # type: ignore[no-untyped-def]
        """Run one step; a malformed frame, a broken limit or an impossible request ends the session."""
        try:
            events: Events = step()
            return events
        except DecodeError as exc:
            return self._fail(SyncError(f"malformed frame from peer: {exc.reason}"))
        except ServeError as exc:
            return self._fail(SyncError(f"impossible request from peer: {exc}"))
        except SyncError as exc:
            return self._fail(exc)

    def tick(self, now: float) -> Events:
        if self.done:
            return Events()
        self._now = now
        if self._job is not None:
            return self._guarded(lambda: Events(self._step()))
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
        return self._guarded(lambda: Events(self._out(self._last_control)))  # the request again, never its entries

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
        if self._job is not None:
            return Events(self._ignore())  # still working on the last message: the answer comes with tick
        if self.role is Role.INITIATOR:
            self._job = self._initiator(fh.round_no, fh.kind, msg, gaps, now)
        else:
            self._job = self._responder(fh.round_no, fh.kind, msg, gaps)
        return Events(self._step())

    def _step(self) -> list[bytes]:
        """Advance the work in progress by at most WORK_SLICE; its frames once it is done."""
        assert self._job is not None
        if self.budget.work_room(self._now) <= 0:
            self._job = None
            self.budget.refusals += 1
            raise SyncError("the peer's decoding budget for this hour is spent: it waits for a later session")
        spent = 0
        try:
            while spent < WORK_SLICE:
                spent += next(self._job)
        except StopIteration as finished:
            self._job = None
            self.stats.work += spent
            self.budget.spend_work(self._now, spent)
            return list(finished.value)
        except BaseException:
            self._job = None
            raise
        self.stats.work += spent
        self.stats.slices += 1
        self.budget.spend_work(self._now, spent)
        if self.stats.work > MAX_SESSION_WORK or self.budget.work_room(self._now) < 0:
            self._job = None
            self.budget.refusals += 1
            raise SyncError(f"decoding work over its limit ({self.stats.work} units this session, "
                            f"the peer's hourly budget {self.budget.work_per_hour}): it waits for a later session")
        return []

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
        """Counted as they go on the air (a frame larger than the MTU as the link's fragments),
        and against the peer's budget: a session over it or over MAX_SESSION_BYTES sends nothing
        more and ends."""
        sizes = [piece_sizes(len(f), self.mtu) for f in frames]
        total = sum(map(sum, sizes))
        room, _ = self.budget.room(self._now)
        if total > room or self.stats.bytes_sent + total > MAX_SESSION_BYTES:
            self.budget.refusals += 1
            raise SyncError(f"the peer's budget is spent ({room} bytes left this hour, "
                            f"{self.stats.bytes_sent} sent this session): it waits for a later session")
        self.budget.spend(self._now, total)
        for pieces in sizes:
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
        rnd.gap_out.extend(reconcile.wanted(self._capped(), rnd, gaps, keyed=False)[0])

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
        entries = self._affordable(plan.send_order(entries))
        packed = pack_entries(entries, keyed, self.mtu)
        self.stats.entries_sent += packed.entries
        self.stats.entry_bytes_sent += packed.entry_bytes
        self.stats.entry_framing_sent += packed.framing_bytes
        return packed.frames

    def _capped(self) -> _ReadCap:
        """The store for serving one message: READS_PER_ANSWER entries at most, none once the
        peer's entry budget is spent."""
        _, room_entries = self.budget.room(self._now)
        return _ReadCap(self.reader, READS_PER_ANSWER if room_entries > 0 else 0)

    def _affordable(self, entries: list[Entry]) -> list[Entry]:
        """The first of ``entries`` (alerts first, oldest first) within the caps and the peer's
        budget, keeping room for the control message; the rest is withheld."""
        room_bytes, room_entries = self.budget.room(self._now)
        room_bytes = min(room_bytes, MAX_ANSWER_BYTES, MAX_SESSION_BYTES - self.stats.bytes_sent) - self.mtu
        count = min(room_entries, MAX_ANSWER_ENTRIES)
        taken: list[Entry] = []
        for e in entries[: max(count, 0)]:
            size = len(e.encode(with_key=True))  # the most it can cost (the key, fragment headers aside)
            size += size // (self.mtu - 8) * 8 if size > self.mtu else 0
            if size > room_bytes:
                break
            room_bytes -= size
            taken.append(e)
        self.stats.entries_withheld += len(entries) - len(taken)
        self.budget.spend(self._now, 0, len(taken))
        return taken

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
    ) -> Steps[list[bytes]]:
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
            syn = yield from rnd.syndromes_steps(msg.capacity)
            control = self._control(Sketch(rnd.sent, tuple(syn[rnd.sent :])))
            rnd.sent = msg.capacity
            return self._request(self._entry_frames([], set()), control, State.SENT_SKETCH, now)
        if isinstance(msg, Sketch):  # the responder asks us to decode: we have the news
            if msg.offset != len(rnd.peer_syndromes):
                return self._ignore()
            if rnd.asked and msg.offset + len(msg.syndromes) > rnd.asked:
                raise SyncError(f"a sketch of {msg.offset + len(msg.syndromes)} syndromes where {rnd.asked} were asked")
            rnd.peer_syndromes.extend(msg.syndromes)
            decoded = yield from reconcile.decode_steps(self._capped(), rnd)
            if decoded is None:
                n = len(rnd.peer_syndromes)
                if n >= MAX_CAPACITY:
                    return self._next_round(now)
                rnd.asked = reconcile.extend(n)
                control = self._control(More(rnd.asked))
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
        out, keyed, wants = reconcile.serve(self._capped(), rnd, msg)
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

    def _responder(self, round_no: int, kind: MsgKind, msg: Message, gaps: tuple[Want, ...]) -> Steps[list[bytes]]:
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
            return (yield from self._on_hello(msg, gaps))
        if round_no != self._round_no or not self._expects(kind) or self._round is None:
            return self._ignore()  # not in this round, or out of turn
        self._note_gaps(gaps)
        if isinstance(msg, Sketch):
            return (yield from self._on_sketch(msg))
        if isinstance(msg, More):
            return (yield from self._on_more(msg))
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

    def _on_hello(self, msg: Hello, gaps: tuple[Want, ...]) -> Steps[list[bytes]]:
        if msg.digest == self.reader.store_digest()[:DIGEST_SIZE]:
            self._round = None
            return self._answer(MsgKind.HELLO, [], self._control(Equal()), State.DONE)
        rnd = self._begin_round(self._round_no)
        rnd.peer_syndromes = list(msg.syndromes)
        rnd.peer_entries = msg.entries
        rnd.peer_parity = msg.parity
        self._note_gaps(gaps)
        return (yield from self._try_decode(rnd, MsgKind.HELLO))

    def _on_sketch(self, msg: Sketch) -> Steps[list[bytes]]:
        rnd = self._round
        assert rnd is not None
        if msg.offset != len(rnd.peer_syndromes):
            raise SyncError("sketch extension does not continue the syndromes received")
        if msg.offset + len(msg.syndromes) > rnd.asked:  # what we asked for is what we decode, no more
            raise SyncError(f"a sketch of {msg.offset + len(msg.syndromes)} syndromes where {rnd.asked} were asked")
        rnd.peer_syndromes.extend(msg.syndromes)
        return (yield from self._try_decode(rnd, MsgKind.SKETCH))

    def _try_decode(self, rnd: Round, kind: MsgKind) -> Steps[list[bytes]]:
        decoded = yield from reconcile.decode_steps(self._capped(), rnd)
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
                sketch_msg = Sketch(0, tuple((yield from rnd.syndromes_steps(rnd.sent))))
                control = self._control(sketch_msg, self._ask_gaps(rnd))
                return self._answer(kind, gap_frames, control, State.ANSWERED_SKETCH)
            rnd.asked = reconcile.capacity(rnd, len(self.reader))
            more = More(rnd.asked)
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

    def _on_more(self, msg: More) -> Steps[list[bytes]]:
        rnd = self._round
        assert rnd is not None
        syn = yield from rnd.syndromes_steps(msg.capacity)
        control = self._control(Sketch(rnd.sent, tuple(syn[rnd.sent :])))
        rnd.sent = msg.capacity
        return self._answer(MsgKind.MORE, self._entry_frames([], set()), control, State.ANSWERED_SKETCH)

    def _on_full(self, msg: Have) -> list[bytes]:
        rnd = self._begin_round(self._round_no)
        reader = self._capped()
        out, keyed, wants, mentioned = reconcile.against_records(reader, rnd, msg.records)
        for author in rnd.states.keys() - mentioned:  # authors the initiator does not have
            out.extend(plan.entries_for(reader, rnd.aside, author, None))
            keyed.add(author)
        frames = self._entry_frames(out, keyed)
        if wants:
            return self._answer(MsgKind.HAVE, frames, self._control(Reply(tuple(wants))), State.ANSWERED_REPLY)
        return self._answer(MsgKind.HAVE, frames, self._control(Reply((), self._check())), State.DONE)

    def _on_finish(self, msg: Finish) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        # what the initiator's records show we lack waits for the next session
        out, keyed, _ = reconcile.serve(self._capped(), rnd, msg)
        frames = self._entry_frames(out, keyed)
        return self._answer(MsgKind.FINISH, frames, self._control(Done(self._check())), State.DONE)


from sync.routing import Route, open_responder, route_frame  # noqa: E402  (the node's side of a HELLO)

__all__ = [
    "EXPECTS", "Events", "Role", "Route", "Session", "State", "Stats", "SyncError", "open_responder", "route_frame",
]

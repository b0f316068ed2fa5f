"""The reconciliation session between two stores over one link (sans-IO state machine).

``Session(store, mtu, role)``: ``start(now)``, ``receive(frame, now)`` and
``tick(now)`` each return the frames to send.  No clock, no I/O: time is passed in.

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

DONE carries B's digest (A compares after applying: done).  HEADS says "send me what
follows my top" for the authors where A is ahead.  REPLY carries the heads or ranges B
wants, a locator of positions the decoder does not know (authors it lacks, which the
other side then sends with their keys), and full states for authors whose position was
ambiguous.  A digest mismatch at the end starts a new round with another salt; the last
round sends the full version vector (HAVE), which cannot fail.
Entries travel packed, whole entries back to back in frames of their own (_entry_frames).
An entry larger than the MTU goes alone in a frame the link fragments (codec/fragment.py,
the one fragmentation layer, with its own id space and a check binding the pieces): a
session never fragments, and ``stats`` counts what goes on the air.  A sync message
larger than the MTU is cut into its own parts (sync/messages.py: 3 bytes a part, no id);
going through the link's fragments instead would cost 4 bytes a piece plus the 4-byte
check, which puts the 200-author, 100-entry case of ``bench sync`` over its target.
Entries go through ``store.add_many``; each is signed, so anything that verified
stays even if the session then fails.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from codec import DecodeError, Entry, FieldkitError, split_entries
from codec.fragment import piece_sizes
from codec.frames import FrameType, frame_type
from sync import plan, reconcile
from sync.api import EntryStore, Outcome
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
from sync.reconcile import FIRST_SYNDROMES, Round

RETRY_AFTER = 15.0  # seconds without an answer before the initiator repeats itself
MAX_RETRIES = 6
IDLE_TIMEOUT = RETRY_AFTER * (MAX_RETRIES + 1)
MAX_ROUNDS = 3
MAX_FRAMES_IN = 20000  # frames per session; beyond this the peer is misbehaving
NO_DECODE = MAX_CAPACITY  # HAVE.peer_elements for the full version vector


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
    entry_framing_sent: int = 0  # fragment headers of entries larger than the MTU (entry frames have no header)
    entries_sent: int = 0
    entries_added: int = 0
    entries_refused: int = 0
    round_trips: int = 0
    largest_frame: int = 0
    rounds: int = 0


def _kind(msg: Message) -> MsgKind:
    return KIND_OF_MESSAGE[type(msg)]


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
        self._assembler = Assembler(max_chunk=mtu)
        self._round: Round | None = None
        self._round_no = -1
        self._expect: set[MsgKind] = set()
        self._last_out: list[bytes] = []
        self._last_in: MsgKind | None = None
        self._sent_at = 0.0
        self._seen_at = 0.0
        self._retries = 0

    # --- public API ---------------------------------------------------------------

    def start(self, now: float) -> list[bytes]:
        self._seen_at = now
        if self.role is not Role.INITIATOR:
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
        return self._out(self._last_out)

    @property
    def overhead_bytes(self) -> int:
        """Every byte sent except the entries' own bytes (short form, first sending)."""
        return self.stats.bytes_sent - self.stats.entry_bytes_sent

    # --- plumbing -------------------------------------------------------------------

    def _receive(self, frame: bytes, now: float) -> list[bytes]:
        kind = frame_type(frame)
        if kind is FrameType.ENTRY:
            try:
                raws = split_entries(frame)
            except DecodeError:
                raws = [frame]  # the store refuses it (counted) and the session goes on
            self._apply(raws, now)
            return []
        if kind is not FrameType.SYNC:
            raise DecodeError(f"unexpected {kind.name} frame in a sync session")
        fh = decode_frame_head(frame)
        body = self._assembler.feed(fh)
        if body is None:
            return []
        msg, gaps = decode_message(fh, body)
        if self.role is Role.INITIATOR:
            if fh.round_no != self._round_no & ROUND_MASK or fh.kind not in self._expect:
                return []  # a late answer to an earlier round, or a repeat
            self._note_gaps(gaps)
            return self._initiator(msg, now)
        return self._responder(fh.round_no, fh.kind, msg, gaps)

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

    def _out(self, frames: list[bytes]) -> list[bytes]:
        """Counted as they go on the air: a frame larger than the MTU as the link's fragments."""
        for f in frames:
            pieces = piece_sizes(len(f), self.mtu)
            self.stats.bytes_sent += sum(pieces)
            self.stats.frames_sent += len(pieces)
            self.stats.largest_frame = max(self.stats.largest_frame, *pieces)
        return frames

    def _send(self, msg: Message, gaps: tuple[Want, ...] = ()) -> list[bytes]:
        """The message's frames, after the entries the peer's gap wants asked for (if not sent yet)."""
        return self._entry_frames([], set()) + encode_message(msg, self._round_no, self.mtu, gaps)

    def _note_gaps(self, gaps: tuple[Want, ...]) -> None:
        """The peer's gap wants: what we hold of them goes with our next frames (once a round)."""
        rnd = self._round
        if rnd is None or not gaps or rnd.gaps_served:
            return
        rnd.gaps_served = True
        rnd.gap_out.extend(reconcile.wanted(self.store, rnd, gaps, keyed=False)[0])

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
        packed = pack_entries(entries, keyed, self.mtu)
        self.stats.entries_sent += packed.entries
        self.stats.entry_bytes_sent += packed.entry_bytes
        self.stats.entry_framing_sent += packed.framing_bytes
        return packed.frames

    def _begin_round(self, round_no: int) -> Round:
        self._round = Round.begin(self.store, round_no)
        return self._round

    def _syndromes(self, rnd: Round, count: int) -> list[int]:
        return rnd.syndromes(count)

    # --- initiator ------------------------------------------------------------------

    def _new_round(self, now: float) -> list[bytes]:
        self._round_no += 1
        self.stats.rounds += 1
        rnd = self._begin_round(self._round_no)
        if self._round_no + 1 >= self.max_rounds and self._round_no > 0:
            # the last round: the full version vector, which cannot fail to decode
            records = tuple(s.record() for s in rnd.states.values())
            return self._request(self._send(Have(NO_DECODE, records)), {MsgKind.REPLY}, now)
        hello = Hello(self.store.store_digest()[:DIGEST_SIZE], len(self.store), plan.pair_parity(rnd.pairs()),
                      tuple(self._syndromes(rnd, FIRST_SYNDROMES)))
        rnd.sent = FIRST_SYNDROMES
        answers = {MsgKind.EQUAL, MsgKind.MORE, MsgKind.REPLY, MsgKind.HEADS, MsgKind.DONE, MsgKind.SKETCH}
        return self._request(self._send(hello, self._ask_gaps(rnd)), answers, now)

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
        if isinstance(msg, Equal):
            return self._finish_session(True)
        if isinstance(msg, More):  # the responder decodes and needs more of our syndromes
            if msg.capacity <= rnd.sent:
                return []
            syn = self._syndromes(rnd, msg.capacity)
            frames = self._send(Sketch(rnd.sent, tuple(syn[rnd.sent :])))
            rnd.sent = msg.capacity
            return self._request(frames, {MsgKind.MORE, MsgKind.REPLY, MsgKind.HEADS, MsgKind.DONE}, now)
        if isinstance(msg, Sketch):  # the responder asks us to decode: we have the news
            if msg.offset != len(rnd.peer_syndromes):
                return []
            rnd.peer_syndromes.extend(msg.syndromes)
            decoded = reconcile.decode(self.store, rnd)
            if decoded is None:
                n = len(rnd.peer_syndromes)
                if n >= MAX_CAPACITY:
                    return self._next_round(now)
                return self._request(self._send(More(reconcile.extend(n))), {MsgKind.SKETCH}, now)
            frames = self._entry_frames(decoded.out, decoded.keyed)
            finish = Finish(tuple(decoded.wants), None, decoded.locator, tuple(decoded.records), tuple(decoded.heads))
            return self._request(frames + self._send(finish), {MsgKind.DONE}, now)
        if isinstance(msg, Reply):
            return self._on_reply(rnd, msg, now)
        if isinstance(msg, Done):
            return self._check_digest(msg.digest, now)
        return []

    def _on_reply(self, rnd: Round, msg: Reply, now: float) -> list[bytes]:
        out, keyed, wants = reconcile.serve(self.store, rnd, msg)
        frames = self._entry_frames(out, keyed)
        if msg.digest is not None and not out and not wants:
            return self._check_digest(msg.digest, now)
        return self._request(frames + self._send(Finish(tuple(wants))), {MsgKind.DONE}, now)

    def _next_round(self, now: float) -> list[bytes]:
        if self._round_no + 1 >= self.max_rounds:
            return self._finish_session(False)
        return self._new_round(now)

    def _check_digest(self, digest: bytes, now: float) -> list[bytes]:
        if digest == self._check():
            return self._finish_session(True)
        return self._next_round(now)

    def _check(self) -> bytes:
        return self.store.store_digest()[:CHECK_SIZE]

    def _finish_session(self, converged: bool) -> list[bytes]:
        self.done = True
        self.converged = converged
        return []

    # --- responder ------------------------------------------------------------------

    def _responder(self, round_no: int, kind: MsgKind, msg: Message, gaps: tuple[Want, ...]) -> list[bytes]:
        if self._round_no == round_no and kind == self._last_in and kind not in (MsgKind.SKETCH, MsgKind.MORE):
            return self._out(self._last_out)  # the initiator did not hear us: repeat
        if isinstance(msg, Hello):
            if self._round is not None and round_no == self._round_no:
                return []  # a stale copy of this round's HELLO: the round has moved on
            return self._on_hello(round_no, msg, gaps)
        if isinstance(msg, Have):
            self._round_no = round_no
            return self._on_full(msg)
        if self._round is None or round_no != self._round_no:
            return []  # not in this round: stale or out of turn
        self._note_gaps(gaps)
        if isinstance(msg, Sketch):
            return self._on_sketch(msg)
        if isinstance(msg, More):
            return self._on_more(msg)
        if isinstance(msg, Finish):
            return self._on_finish(msg)
        raise SyncError(f"a responder does not expect {kind.name}")

    def _reply(self, kind: MsgKind, frames: list[bytes]) -> list[bytes]:
        self._last_in = kind
        self._last_out = frames
        return self._out(frames)

    def _on_hello(self, round_no: int, msg: Hello, gaps: tuple[Want, ...]) -> list[bytes]:
        self._round_no = round_no
        self.done = False
        if msg.digest == self.store.store_digest()[:DIGEST_SIZE]:
            self._round = None
            frames = self._reply(MsgKind.HELLO, self._send(Equal()))
            self.done = self.converged = True
            return frames
        rnd = self._begin_round(round_no)
        rnd.peer_syndromes = list(msg.syndromes)
        rnd.peer_entries = msg.entries
        rnd.peer_parity = msg.parity
        self._note_gaps(gaps)
        return self._try_decode(rnd, MsgKind.HELLO)

    def _on_sketch(self, msg: Sketch) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        if msg.offset + len(msg.syndromes) <= len(rnd.peer_syndromes):
            return self._out(self._last_out)  # a repeat: the initiator did not hear our answer
        if msg.offset != len(rnd.peer_syndromes):
            raise SyncError("sketch extension does not continue the syndromes received")
        rnd.peer_syndromes.extend(msg.syndromes)
        return self._try_decode(rnd, MsgKind.SKETCH)

    def _try_decode(self, rnd: Round, kind: MsgKind) -> list[bytes]:
        decoded = reconcile.decode(self.store, rnd)
        if decoded is None:
            n = len(rnd.peer_syndromes)
            if n >= MAX_CAPACITY:
                # give up on the sketch: a digest that matches nothing makes the initiator
                # move on to the next round (and the full version vector in the last one)
                return self._reply(kind, self._send(Reply(digest=b"\0" * CHECK_SIZE)))
            if kind == MsgKind.HELLO and rnd.peer_entries > len(self.store):
                # the initiator holds more: it likely has the news, so it decodes our sketch
                rnd.sent = reconcile.capacity(rnd, len(self.store))
                sketch_msg = Sketch(0, tuple(self._syndromes(rnd, rnd.sent)))
                return self._reply(kind, self._send(sketch_msg, self._ask_gaps(rnd)))
            more = More(reconcile.capacity(rnd, len(self.store)))
            return self._reply(kind, self._send(more, self._ask_gaps(rnd)))
        decoded.wants.extend(self._ask_gaps(rnd))  # in REPLY's own field, as WANT records
        frames = self._entry_frames(decoded.out, decoded.keyed)
        if decoded.quiet:  # we want nothing: our digest (DONE) lets the initiator check and stop
            self.done = self.converged = True
            return self._reply(kind, frames + self._send(Done(self._check())))
        reply: Reply
        if decoded.heads and not (decoded.wants or decoded.locator or decoded.records):
            reply = Heads(heads=tuple(decoded.heads))  # the common case: plain tails, no flags byte
        else:
            reply = Reply(tuple(decoded.wants), None, decoded.locator, tuple(decoded.records), tuple(decoded.heads))
        return self._reply(kind, frames + self._send(reply))

    def _on_more(self, msg: More) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        if msg.capacity <= rnd.sent:
            return self._out(self._last_out)  # a repeat: the initiator did not hear our answer
        syn = self._syndromes(rnd, msg.capacity)
        frames = self._send(Sketch(rnd.sent, tuple(syn[rnd.sent :])))
        rnd.sent = msg.capacity
        return self._reply(MsgKind.MORE, frames)

    def _on_full(self, msg: Have) -> list[bytes]:
        rnd = self._begin_round(self._round_no)
        out, keyed, wants, mentioned = reconcile.against_records(self.store, rnd, msg.records)
        for author in rnd.states.keys() - mentioned:  # authors the initiator does not have
            out.extend(plan.entries_for(self.store, rnd.aside, author, None))
            keyed.add(author)
        frames = self._entry_frames(out, keyed)
        digest = None if wants else self._check()
        if digest is not None:
            self.done = self.converged = True
        return self._reply(MsgKind.HAVE, frames + self._send(Reply(tuple(wants), digest)))

    def _on_finish(self, msg: Finish) -> list[bytes]:
        rnd = self._round
        assert rnd is not None
        # what the initiator's records show we lack waits for the next session
        out, keyed, _ = reconcile.serve(self.store, rnd, msg)
        frames = self._entry_frames(out, keyed) + self._send(Done(self._check()))
        self.done = self.converged = True
        return self._reply(MsgKind.FINISH, frames)

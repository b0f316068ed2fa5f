"""The node's own queue of sync traffic for one link: bounded, expiring, yielding to alerts.

Pushed entries (alerts first) go straight to the link, whose radio sends the most urgent
frame first.  Sync frames -- beacons and session frames -- wait here instead and are handed
to the link only while its radio has nothing of ours queued (``backlog()``, when the link
can say) and sync may use the air at all (the core's pacing): so an alert never waits
behind minutes of session frames, and what sync queued is not sent after it stopped
mattering:
- a session's frames are dropped when the session ends;
- a frame waits at most ``FRAME_TTL_S`` since its session's last frame left (a session
  retries on its own, with fresh frames; a long answer going out frame by frame does not
  lose its end -- measured: merges on LONG_FAST lost the closing message of most answers);
- at most ``MAX_FRAMES`` wait; past that the oldest session's frames go first;
- an entry broadcast a neighbour just made of the same entries cancels ours.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, replace

from codec import DecodeError, split_entries
from codec.frames import FrameType

FRAME_TTL_S = 30.0  # a session's RETRY_AFTER is 15 s: a frame older than two retries is stale
_CONTROL = (bytes((FrameType.SYNC,)), bytes((FrameType.BEACON,)))
MAX_FRAMES = 64  # about 15 KB: a few sessions' worth of entries at LORA_MTU


@dataclass(frozen=True)
class Queued:
    frame: bytes
    dest: str | None  # None: a one-hop broadcast
    owner: object  # the session (or the beacon) the frame belongs to
    expires: float
    entries: frozenset[bytes] | None = None  # an entry broadcast's entries, split once when queued


def _entries_of(frame: bytes, dest: str | None) -> frozenset[bytes] | None:
    """The entries of a one-hop entry broadcast (None for anything else)."""
    if dest is not None or frame[:1] in _CONTROL:
        return None
    try:
        return frozenset(split_entries(frame))
    except DecodeError:
        return None


class SyncQueue:
    def __init__(self, max_frames: int = MAX_FRAMES, ttl_s: float = FRAME_TTL_S) -> None:
        self.max_frames = max_frames
        self.ttl_s = ttl_s
        self._frames: deque[Queued] = deque()
        # frames queued per owner, by id(owner) (a queued frame keeps its owner alive, so the id
        # is not reused while counted): ``holds`` is asked per session at every tick
        self._owners: Counter[int] = Counter()
        self.expired = 0
        self.merged = 0  # entry broadcasts not queued: their entries were queued already
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, frame: bytes, dest: str | None, owner: object, now: float) -> bool:
        """Queue a frame; False if the same frame of the same owner is waiting already (a
        session repeating itself before its first copy even left)."""
        for q in self._frames:
            if q.owner is owner and q.frame == frame and q.dest == dest:
                return False
        entries = _entries_of(frame, dest)
        if entries and self._queued_already(entries):
            self.merged += 1
            return False
        self._frames.append(Queued(frame, dest, owner, now + self.ttl_s, entries))
        self._owners[id(owner)] += 1
        while len(self._frames) > self.max_frames:
            self._forget(self._frames.popleft())
            self.dropped += 1
        return True

    def _queued_already(self, entries: frozenset[bytes]) -> bool:
        """Are all of this entry broadcast's entries in broadcasts queued already (another
        session's answer)?  One broadcast serves every neighbour: measured on bench mesh's
        scatter merge, a node answering several neighbours' sessions at once sent the same
        entries once per session, until its sync share of the duty cycle was spent and it
        could no longer pull what it lacked itself.  Each frame's entries were split when it
        was queued: splitting the whole queue again for every frame of a long answer cost a
        hostile HAVE 50 ms (`bench adversary`'s cpu_s_per_hostile_message)."""
        wanted = set(entries)
        for q in self._frames:
            if q.entries:
                wanted -= q.entries
                if not wanted:
                    return True
        return False

    def holds(self, owner: object) -> bool:
        return id(owner) in self._owners

    def drop(self, owner: object) -> int:
        """Forget every frame of ``owner`` (a session that ended)."""
        return self.drop_where(lambda q: q.owner is not owner)

    def drop_where(self, keep: object) -> int:
        """Forget frames for which ``keep(queued)`` is false."""
        before = len(self._frames)
        self._frames = deque(q for q in self._frames if keep(q))  # type: ignore[operator]
        self._owners = Counter(id(q.owner) for q in self._frames)
        gone = before - len(self._frames)
        self.dropped += gone
        return gone

    def cancel_heard(self, heard: set[bytes]) -> int:
        """A neighbour just broadcast these entries: drop our queued entry broadcasts that
        carry nothing else, as the firmware cancels a queued relay when it hears another
        node relay the same packet (``perhapsCancelDupe``).  What the peer still lacks, the
        session's closing digest check finds."""
        def keep(q: Queued) -> bool:
            return q.entries is None or not q.entries <= heard
        return self.drop_where(keep)

    def _forget(self, q: Queued) -> None:
        key = id(q.owner)
        self._owners[key] -= 1
        if not self._owners[key]:
            del self._owners[key]

    def pop(self, now: float) -> Queued | None:
        """The oldest frame still fresh, or None."""
        while self._frames:
            q = self._frames.popleft()
            self._forget(q)
            if q.expires >= now:
                # its session is moving: the rest of its frames (a long answer) get a fresh TTL
                fresh = now + self.ttl_s
                self._frames = deque(
                    replace(o, expires=max(o.expires, fresh)) if o.owner is q.owner else o
                    for o in self._frames
                )
                return q
            self.expired += 1
        return None

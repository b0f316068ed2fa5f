"""How often received entries may make the domain view fold the whole log again.

Most entries continue the fold or rewind its journal (view.DomainView): a cost of what
they change.  A few cannot: an entry claiming a time older than the journal (30 days),
a rewind longer than ``REWIND_LIMIT``, a change of the cuts in effect or of the late
acts, a 6-byte ref collision, a chain link others wait on.  Those fold the whole log
again -- on the bench machine 3.6 s at 100,000 entries in memory, 7.5 s folded in place,
98-105 s at 1,000,000 (in place: log_refold.py; `bench store`'s ``first_entry_cpu_s`` and
``refold_cpu_s``, November 2026) -- and anyone can send one: a
fresh key signs one entry claiming last year.  A rewind of more than ``REWIND_PACED`` entries (an entry
claiming 29 days ago on a busy node: ~1 s) is paced the same way.  Before this pacing, one
such entry every few seconds kept a node folding without pause, its alerts waiting behind
the folds.

So on a node (a view with a clock) received entries never fold the whole log themselves:
the view is *behind* -- the entries that need the refold are put aside (held in the log,
not yet folded), entries that continue the fold are folded as usual, so a fresh alert
still shows at once -- and the node's tick (``Store.settle_views``) runs the refold owed
once the previous one is long enough ago: ``SPACING_MS_PER_ENTRY`` of node time per entry
held, and at least ``COST_SPACING`` times the CPU time the last whole refold took, so
these refolds take at most a twentieth of a core whatever the store's size and the
machine (a refold costs about 36 us an entry in memory there, 75 us in place at 100,000
entries and 100 us at 1,000,000, log_refold.py, and a few times that on a Pi Zero 2).  Never while
entries are being received (an alert among them would wait behind it), nor in the 30 s
after a fresh alert (node/pacing.py ``alert_quiet``); `sync import` runs it once at its
end.  Entries put aside are as if still on their
way: an entry this node signs meanwhile is judged against what is folded, as it would be
if they had not arrived yet (a refold it needs itself, when it claims an old time, runs at
once).  Were it otherwise, a spoofed SMS answer to an alert after each backdated entry
would make the node refold each time.  Once settled, the view equals a rebuild, as always.

This module only keeps the account; view.DomainView decides and folds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Node-time between whole refolds received entries force, per entry held: 100 s at
# 100,000 entries, 0 below 1,000 (a refold of a small log costs nothing worth pacing).
SPACING_MS_PER_ENTRY = 1
# ... and at least this many times the CPU seconds the last whole refold took: refolds
# forced by received entries take at most 1/20 of a core, on whatever machine.
COST_SPACING = 20


def spacing_s(held: int, cost_s: float = 0.0) -> int:
    """Seconds of node time a forced whole refold waits after the previous one, which took
    ``cost_s`` CPU seconds."""
    return max(held * SPACING_MS_PER_ENTRY // 1000, int(COST_SPACING * cost_s))


@dataclass
class RefoldPacing:
    """When the view last folded the whole log, and the refold it owes (kept in its meta)."""

    refolded_at: int | None = None  # node time of the last whole fold (None: unknown, or no clock)
    behind: str = ""  # why a refold is owed ("journal", "cuts", ...: DomainView.refolds' names), or ""
    aside: int = 0  # entries put aside for it (held in the log, not folded yet)
    cost_s: float = 0.0  # CPU seconds the last whole refold took

    @classmethod
    def load(cls, meta: dict[str, Any]) -> RefoldPacing:
        return cls(meta.get("refolded_at"), meta.get("behind") or "", int(meta.get("aside") or 0),
                   float(meta.get("refold_cost_s") or 0.0))

    def save(self, meta: dict[str, Any]) -> None:
        meta["refolded_at"] = self.refolded_at
        meta["behind"] = self.behind
        meta["aside"] = self.aside
        meta["refold_cost_s"] = round(self.cost_s, 3)

    def spacing(self, held: int) -> int:
        """Seconds of node time between forced whole refolds now."""
        return spacing_s(held, self.cost_s)

    def due(self, now: int | None, held: int) -> bool:
        """May a whole refold run now?  Always without a clock (the pure fold's tests), after
        the first one, and when the node's clock went back (a refold too many beats a view
        behind for as long as the clock jumped)."""
        if now is None or self.refolded_at is None or now < self.refolded_at:
            return True
        return now >= self.refolded_at + self.spacing(held)

    def notice(self, held: int) -> str:
        """What a command tells its person while a refold is owed, or ""."""
        if not self.behind:
            return ""
        waiting = "1 entry claiming an old time is" if self.aside == 1 else \
            f"{self.aside or 'some'} entries claiming old times are"
        return (f"{waiting} held but not counted yet: against "
                f"floods of them the domain view folds its whole log again at most every "
                f"{self.spacing(held)} s, and the running node does so when that time has passed; "
                "until then lists may miss them")

    def owe(self, why: str, aside: int = 0) -> None:
        """A refold is owed (the first reason is kept: any of them folds everything)."""
        self.behind = self.behind or why
        self.aside += aside

    def folded(self, now: int | None, cost_s: float) -> None:
        """The whole log was just folded, in ``cost_s`` CPU seconds: nothing is owed."""
        self.refolded_at, self.cost_s = now, cost_s
        self.behind, self.aside = "", 0

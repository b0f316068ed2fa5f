"""What a running node does for the assembly rules (issue 12), beside moving frames.

- **Alert policy**: an alert is relayed at alert priority, re-flooded and fanned out only
  when it counts for this node's assemblies (raised by a member of its own assembly, of
  one it recognizes, or of a shared open council) -- or, kept aside while its author's
  chain completes, when its author is a member of an assembly this node trusts
  (``unconfirmed``).  A stranger's alert ("DO NOT GO, meet at ...") is an ordinary entry:
  kept, synced, never pushed ahead of real alerts (fieldkit/domain/queries.alert_priority).
- **Seals**: after a proposal closes, this node's key signs which ballots it held before
  the close (fieldkit/domain/rules_seals.py); after any other deadline (a mandate's expiry
  or report-due moment, a council's end, an alert's expiry, a campaign cycle's or role
  term's end), which acts on its object it held (rules_deadlines.py).  The CLI seals after
  each command that writes; a node that runs unattended seals here, every ``SEAL_EVERY_S``.
"""

from __future__ import annotations

from collections.abc import Callable

from codec import Entry, KeyPair
from fieldkit.domain import queries
from fieldkit.domain.state import State, kid
from fieldkit.domain.view import domain_state
from fieldkit.nodestore import seal_closes, seal_deadlines
from sync.store import Store

SEAL_EVERY_S = 600.0  # ten minutes: seals matter for ballots arriving late, not in seconds


class Duties:
    def __init__(self, store: Store, key: KeyPair, clock: Callable[[], float]) -> None:
        self.store = store
        self.key = key
        self.clock = clock
        self.me = kid(key.public_key)

    def _state(self) -> State:
        return domain_state(self.store)  # read lazily: only the rows a judgement asks for

    def alert_policy(self, entry: Entry) -> str:
        """``counts``, ``unconfirmed`` or ``no`` for an alert entry (queries.alert_priority)."""
        state = self._state()
        now = int(self.clock())
        return queries.alert_priority(state, entry, queries.assemblies_of(state, self.me, now), now)

    def seal(self) -> list[Entry]:
        """Sign this node's due seals, of closes and of other deadlines (each checked like any
        act, fieldkit/nodestore.py); the entries it appended."""
        now = int(self.clock())
        return [entry for _, entry in [*seal_closes(self.store, self.key, self._state, now),
                                       *seal_deadlines(self.store, self.key, self._state, now)]]

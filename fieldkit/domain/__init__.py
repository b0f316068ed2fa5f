"""The assembly domain: a pure, deterministic function of the set of signed entries.

Modules:

- ``state``: :class:`State` (tables of clock-independent facts and a verdict per entry),
  ``sort_key`` (the canonical fold order), ``State.digest`` / ``to_tables`` / ``from_tables``.
- ``derive``: ``derive(entries) -> State`` (rebuild), ``update(state, added, all_entries)``
  (continue the fold or rebuild).  Trust-in-time consequences are documented there.
- ``rules_people`` / ``rules_acts``: one rule per kind; a refusal carries its reason.
- ``rules_constitution`` (floors per class of motion), ``rules_cuts`` (removal, revocation,
  suspension as sequence cuts), ``rules_seals`` (closing seals: late ballots),
  ``rules_recognition`` (who counts as a responder; which alerts count for whom).
- ``judge``: time-dependent judgements at a moment ``at`` (membership, outcome,
  mandate status, role holder, council open, alert status).  No clock is ever read.
- ``queries``: JSON-ready answers at ``now`` (tally, assembly, mandate, council, alert,
  ledger review, minutes; the latest of each for a page); ``alert_counts`` for the radio relay and the SMS fan-out,
  ``resolve_short`` for SMS short ids.
- ``actions``: body builders, ``require_verdict`` (refuse before writing), id lookup, seals due.
- ``timeflags``: the local flag for entries seen far from the time they claim.
- ``view``: :class:`DomainView`, the store's ViewProvider (view name ``"domain"``): rows in
  the store's index database, read on demand; ``domain_state(store)`` for commands.
"""

"""`bench domain` reports its figures (timing values are measured, never asserted)."""

from __future__ import annotations

from fieldkit.bench import domain
from fieldkit.domain import derive


def test_bench_domain_figures_and_workload() -> None:
    entries = domain.workload(1500)
    verdicts = [r["verdict"] for r in derive.derive(entries).entries.values()]
    assert len(entries) == 1500 and verdicts.count("counted") > 700
    figures = domain.run(n=1500, store_n=1500, review_n=2000, lunar_years=(2026, 2026))
    assert [f.name for f in figures] == ["domain_fold_per_s", "domain_fold_s", "domain_update_us",
                                         "domain_to_tables_s", "append_ms", "refold_after_future_entry_ms",
                                         "refold_after_future_entry_ratio", "refold_without_hold_ms",
                                         "review_s", "review_load_s", "campaign_phases_error_h"]
    review = next(f for f in figures if f.name == "review_s")
    assert review.params["n"] == 2000 and review.params["signals"] == 8
    lunar = next(f for f in figures if f.name == "campaign_phases_error_h")
    assert lunar.params["boundaries"] == 5 * 12  # 12 new moons in 2026, 5 moments each
    assert lunar.value < 1  # a wrong calendar (days off) would show here
    # measured, not asserted: a tiny workload's times may round to 0.000 s on a fast run
    assert all(f.value >= 0 for f in figures) and figures[0].value > 0
    ratio = next(f for f in figures if f.name == "refold_after_future_entry_ratio")
    assert ratio.target == "<= 1.5" and ratio.params["n"] == 1500

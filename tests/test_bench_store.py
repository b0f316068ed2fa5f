"""`bench store` runs end to end on a small history and reports every figure (times are
measured, never asserted: the figures at 100,000 and 1,000,000 entries are the bench's)."""

from __future__ import annotations

from fieldkit.bench import store


def test_bench_store_figures_on_a_small_history() -> None:
    figures = {f.name: f for f in store.run(n=3000)}
    assert list(figures) == ["cli_read_s", "cli_write_s", "cli_peak_rss_mb", "cli_list_peak_rss_mb",
                             "view_update_ms_per_entry", "open_s",
                             "import_to_verify_ratio", "hostile_backdated_cpu_share", "refold_peak_rss_mb",
                             "alert_wait_during_refold_s", "cli_help_s"]
    assert figures["import_to_verify_ratio"].params["n"] == 3000
    listings = figures["cli_list_peak_rss_mb"].params
    assert set(listings) >= {"log", "verdicts_s", "proposals", "ledger_list_s", "alert_list_json"}
    hostile = figures["hostile_backdated_cpu_share"].params
    assert hostile["whole_refolds"] >= 1 and hostile["sent"] >= 1  # through the node's core and its tick
    wait = figures["alert_wait_during_refold_s"]
    assert wait.value >= 0 and wait.target is None
    assert set(wait.params) >= {"refold_cpu_s", "arrived_after_s", "refold_stopped"}
    assert figures["refold_peak_rss_mb"].params["fold"] == "in memory (derive)"  # 3,000 entries: below STREAM_ABOVE

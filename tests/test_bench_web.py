"""`bench web` runs end to end on a small home and reports every figure CLI.md names."""

from __future__ import annotations

from fieldkit.bench import web


def test_bench_web_reports_its_figures_on_a_small_home() -> None:
    figures = web.run(n=2000, streams=5, rounds=3)
    names = {f.name for f in figures}
    assert {"page_p95_ms", "first_load_kb", "external_requests", "alert_to_browser_ms", "server_rss_mb",
            "streams_reached"} <= names
    pages = {f.params["page"] for f in figures if f.name == "page_p95_ms"}
    assert {"/", "/alerts", "/ledger", "/mandates", "/councils", "/minutes", "/assemblies/ID",
            "/proposals/ID", "/alerts/ID"} <= pages
    by_name = {f.name: f for f in figures}
    assert by_name["streams_reached"].value == 5  # every stream got the alert
    assert by_name["external_requests"].value == 0
    assert by_name["first_load_kb"].value > 0
    assert all(f.value > 0 for f in figures if f.name == "page_p95_ms")

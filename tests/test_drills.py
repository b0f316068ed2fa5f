"""The drills of issue 8: each runs on the simulator and reports findings of a fixed shape.

Every drill must pass for the seeds tested here: co-optation (every attempt judged as
expected, identically, on every node), partition (a day apart, then converged within the
duty cycle) and squeeze (alerts reach the reachable nodes through node loss, cut links, a
spent radio and a lost or hung SMS modem).  `passed` must agree with the findings.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fieldkit.cli import main
from fieldkit.drills import run_drill
from fieldkit.drills.report import DrillReport

FINDING_KEYS = {"check", "expected", "observed", "ok"}


def _shape(data: dict, name: str) -> dict[str, dict]:
    assert data["drill"] == name
    assert isinstance(data["passed"], bool)
    assert data["findings"], "a drill without findings checks nothing"
    for f in data["findings"]:
        assert set(f) == FINDING_KEYS
        assert isinstance(f["ok"], bool) and f["check"] and f["expected"] and f["observed"]
    assert data["passed"] == all(f["ok"] for f in data["findings"])
    return {f["check"]: f for f in data["findings"]}


def test_cooptation_via_cli_json_passes_and_names_every_attempt() -> None:
    result = CliRunner().invoke(main, ["drill", "co-optation", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    findings = _shape(data, "co-optation")
    assert data["passed"] is True
    for attempt in ("delegate acts after the mandate", "delegate acts outside the mandate",
                    "member votes twice", "member votes for another",
                    "key issues a mandate without a decision", "council acts after dissolution",
                    "facilitator signs minutes after the term", "forged ballot"):
        hits = [c for c in findings if c.startswith(attempt)]
        assert hits, attempt
        for check in hits:
            assert findings[check]["observed"].endswith("(same on 6 nodes)") or attempt == "forged ballot"
    assert findings["all nodes reached the same state"]["ok"]
    # issue 12: every capture attempt is a scenario, judged alike on every node
    for check in ("single member removes another with lax terms", "removed key vouches for a newcomer",
                  "sybil responder 0", "backdated ballot after the close: judged late, tally contested",
                  "stranger's alert goes out at alert priority", "ground short id", "far-future entry",
                  "control: removal by a real majority", "removal by a real majority takes effect"):
        hits = [c for c in findings if c.startswith(check)]
        assert hits and all(findings[c]["ok"] for c in hits), check
    assert "refused: council dissolved at its end time" in \
        findings["council acts after dissolution: a delegate proposes"]["observed"]


def test_cooptation_is_deterministic_for_a_seed() -> None:
    a, b = run_drill("co-optation", 5), run_drill("co-optation", 5)
    assert a.as_dict() == b.as_dict()
    assert a.passed


def test_failed_drill_exits_1_with_one_line_naming_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    report = DrillReport("partition", 1)
    report.check("good", "x", "x", True)
    report.check("merge fits the duty cycle", "<= 10 %", "18 %", False)
    monkeypatch.setattr("fieldkit.cli.drill.run_drill", lambda name, seed: report)
    result = CliRunner().invoke(main, ["drill", "partition", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["passed"] is False  # the report still goes to stdout
    assert result.stderr.strip().splitlines() == [
        "drill partition failed: merge fits the duty cycle: expected <= 10 %, observed 18 %"]


def test_partition_converges_after_a_day_apart() -> None:
    report = run_drill("partition", 1)
    findings = _shape(report.as_dict(), "partition")
    assert report.passed, [f for f in findings.values() if not f["ok"]]
    for check in ("the mesh converges before the split", "the west side converges on its own during the split",
                  "the east side converges on its own during the split", "the two sides diverge during the split",
                  "every node converges after the heal",
                  "every entry made on either side during the split is on every node",
                  "the proposal both sides voted on counts ballots from both sides"):
        assert findings[check]["ok"], findings[check]
    summary = report.summary
    assert summary["merge_bytes_sent"] > summary["new_entries_bytes"] > 0
    assert summary["merge_airtime_s"] > 0 and summary["merge_converged_s"] is not None
    _readable(report)


def test_squeeze_reports_every_phase_and_the_sms_path() -> None:
    report = run_drill("squeeze", 1)
    findings = _shape(report.as_dict(), "squeeze")
    assert report.passed, [f for f in findings.values() if not f["ok"]]
    phases = report.summary["phases"]
    assert set(phases) == {"baseline", "nodes_lost", "links_cut", "duty_cycle_spent", "sms_modem_gone",
                           "sms_modem_hung"}
    for phase in phases.values():
        assert 0.0 <= phase["delivery_ratio"] <= 1.0 and phase["reachable_pairs"] > 0
    assert findings["baseline: alerts reach reachable nodes"]["ok"]
    spent = next(c for c in findings if c.startswith("alert from the node whose duty cycle is spent"))
    assert findings[spent]["ok"] and "DUTY_CYCLE_LIMIT" in findings[spent]["observed"]
    assert findings["SMS modem unplugged: no alert text goes out, all wait in the queue"]["ok"]
    assert findings["SMS modem plugged back: the held alert texts go out"]["ok"]
    assert "[modem simulated]" in findings["SMS fan-out with the modem present"]["expected"]
    text = _readable(report)
    assert f"{len(report.summary['lost'])} nodes were switched off" in text
    assert f"{report.summary['duty_spent_node']} had spent its duty cycle" in text


def _readable(report) -> str:
    """The report for people: sentences with the figures, never a Python dict; what broke is told."""
    text = report.text()
    assert "{" not in text and "': " not in text, text
    assert report.story and all(any(c.isdigit() for c in line) for line in report.story)
    assert report.as_dict()["what_broke"] == report.what_broke and report.what_broke
    assert "What broke:\n  - " in text
    return text

"""What a drill reports: findings (expected vs observed) and a summary of what it measured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    check: str
    expected: str
    observed: str
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "expected": self.expected, "observed": self.observed, "ok": self.ok}


@dataclass
class DrillReport:
    name: str
    seed: int
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)  # the figures, for --json and scripts
    story: list[str] = field(default_factory=list)  # the figures in sentences, for people
    # What the drill took away or saw degrade, in sentences (a failed check is always here
    # too): what a member would have met, even where every check held.
    degraded: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def check(self, check: str, expected: str, observed: str, ok: bool) -> Finding:
        finding = Finding(check, expected, observed, bool(ok))
        self.findings.append(finding)
        return finding

    @property
    def what_held(self) -> list[str]:
        return [f.check for f in self.findings if f.ok]

    @property
    def what_broke(self) -> list[str]:
        return [f"{f.check}: expected {f.expected}, observed {f.observed}" for f in self.failed] + self.degraded

    def as_dict(self) -> dict[str, Any]:
        return {"drill": self.name, "seed": self.seed, "passed": self.passed,
                "findings": [f.as_dict() for f in self.findings], "summary": self.summary,
                "what_held": self.what_held, "what_broke": self.what_broke, "story": self.story}

    def text(self) -> str:
        """A table for people: one line per finding, then the summary."""
        lines = [f"drill {self.name} (seed {self.seed}): {'PASSED' if self.passed else 'FAILED'}", ""]
        width = min(60, max((len(f.check) for f in self.findings), default=10))
        for f in self.findings:
            mark = "ok  " if f.ok else "FAIL"
            lines.append(f"{mark} {f.check:<{width}}  observed: {f.observed}")
            if not f.ok:
                lines.append(f"     {'':<{width}}  expected: {f.expected}")
        if self.story:
            lines.append("")
            lines.extend(self.story)
        lines.append("")
        broke = self.what_broke
        lines.append("What broke:" if broke else "What broke: nothing — every check held and nothing degraded.")
        lines.extend(f"  - {b}" for b in broke)
        return "\n".join(lines)

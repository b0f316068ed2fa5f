"""Benchmark figures and how they are shown: a table for people, JSON for scripts.

CLI.md fixes the JSON: ``{"bench": NAME, "figures": [{name, value, unit, target,
met, params}, ...]}``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: float | int | bool
    unit: str
    target: str | None = None  # e.g. "<= 96", ">= 0.5", or None for context figures
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        op, _, bound = self.target.partition(" ")
        limit = float(bound)
        value = float(self.value)
        checks = {"<=": value <= limit, ">=": value >= limit, "<": value < limit, ">": value > limit}
        return checks[op]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["met"] = self.met
        return data


def render_json(bench: str, figures: list[Figure]) -> str:
    return json.dumps({"bench": bench, "figures": [f.as_json() for f in figures]}, indent=1)


def render_table(bench: str, figures: list[Figure]) -> str:
    rows = [("figure", "value", "unit", "target", "met", "case")]
    for f in figures:
        value = f"{f.value:.3g}" if isinstance(f.value, float) else str(f.value)
        met = "" if f.met is None else ("yes" if f.met else "NO")
        case = " ".join(f"{k}={v}" for k, v in f.params.items())
        rows.append((f.name, value, f.unit, f.target or "", met, case))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"bench {bench}"]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)

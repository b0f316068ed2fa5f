"""Drills: stress tests on the simulated mesh, each with a report of what held and what broke.

``DRILLS`` maps a drill name to its module; :func:`run_drill` runs one (`fieldkit drill NAME`).
"""

from __future__ import annotations

import importlib

from .report import DrillReport, Finding

__all__ = ["DRILLS", "DrillReport", "Finding", "run_drill"]

DRILLS = {"co-optation": "cooptation", "squeeze": "squeeze", "partition": "partition"}


def run_drill(name: str, seed: int = 1) -> DrillReport:
    module = importlib.import_module(f"{__name__}.{DRILLS[name]}")
    return module.run(seed)

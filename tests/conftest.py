"""Test-wide settings.

On CI (``CI=true``) hypothesis runs derandomized: the same examples every run, so a
submission lands or fails on its own merits, not on the luck of the draw.  Locally it
explores new examples each run (and remembers failures in .hypothesis/).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

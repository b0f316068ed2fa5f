"""`fieldkit demo`: the whole story on simulated radios, no hardware (CLI.md).

`run_demo(seed)` plays it in a temporary folder and returns the result; `fieldkit/cli/demo.py`
prints it.  Modules: `story` (what happens), `timeline` (what is printed as it happens),
`handheld` (the node on an emulated Meshtastic device, through the real library), `phones`
(the SMS gateway and basic phones), `summary` (the table at the end).
"""

from .summary import run_demo

__all__ = ["run_demo"]

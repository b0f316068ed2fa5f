"""Simulated federations for the demo, the drills and tests: real stores, node cores and
the domain on the simulated LoRa mesh, in virtual time."""

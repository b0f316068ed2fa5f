"""Links that move opaque frames: Meshtastic (serial, TCP), GSM modem SMS, simulated LoRa, files.

Meshtastic:
  meshtastic_link.py  MeshtasticLink: one radio, durable outbox, fragmentation, reassembly
  supervisor.py       rebuilds the library interface when the connection is lost; LinkState
  outbox.py           the durable priority outbox (sqlite3, WAL, synchronous=FULL)
  interfaces.py       the library's TCP/serial interfaces with the hooks the link needs
  spec.py             meshtastic:serial:PATH and meshtastic:tcp:HOST[:PORT]
  ownership.py        one process owns a radio (a lock per spec)
  air.py              the Air interface between emulated nodes (shared with the simulator)
  emulator/           emulated Meshtastic nodes speaking the device's stream API
"""

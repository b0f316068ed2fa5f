"""Links that move opaque frames: Meshtastic (serial, TCP), GSM modem SMS, simulated LoRa, files."""

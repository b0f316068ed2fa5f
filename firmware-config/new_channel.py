#!/usr/bin/env python3
"""Write this assembly's device settings with a fresh private channel key.

    python3 new_channel.py --region EU_868 --name ASSEMBLY --out ~/assembly-config

reads the role files next to this script (base, relay, carried for that region),
replaces each one's ``channel_url`` with one that carries a new random 32-byte
AES-256 key (os.urandom) and the same LoRa settings, and writes the copies to --out.
Give the same copies to every node of the assembly; keep them off public repositories.
Needs only the ``meshtastic`` package (for its protobufs) and PyYAML.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path

import yaml
from meshtastic.protobuf import apponly_pb2, channel_pb2, config_pb2

HERE = Path(__file__).resolve().parent
ROLES = ("base", "relay", "carried")
PSK_BYTES = 32  # AES-256 (channel.proto: 16 or 32 bytes; 1 byte 0x01 is the PUBLIC default key)


def channel_url(psk: bytes, name: str, lora: dict) -> str:
    """The https://meshtastic.org/e/#... URL the CLI applies with setURL (ChannelSet, base64url)."""
    settings = channel_pb2.ChannelSettings(psk=psk, name=name)
    settings.module_settings.position_precision = 0  # never share positions on this channel
    lora_config = config_pb2.Config.LoRaConfig(
        use_preset=True,
        modem_preset=config_pb2.Config.LoRaConfig.ModemPreset.Value(lora["modemPreset"]),
        region=config_pb2.Config.LoRaConfig.RegionCode.Value(lora["region"]),
        hop_limit=int(lora["hopLimit"]),
        tx_enabled=True,
    )
    channel_set = apponly_pb2.ChannelSet(settings=[settings], lora_config=lora_config)
    encoded = base64.urlsafe_b64encode(channel_set.SerializeToString()).decode().rstrip("=")
    return f"https://meshtastic.org/e/#{encoded}"


def render(template: Path, psk: bytes, name: str) -> str:
    text = template.read_text()
    profile = yaml.safe_load(text)
    url = channel_url(psk, name, profile["config"]["lora"])
    lines = [f"channel_url: {url}" if line.startswith("channel_url:") else line for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", choices=("EU_868", "US"), required=True)
    parser.add_argument("--name", default="assembly", help="channel name (at most 11 characters)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the assembly's private copies")
    args = parser.parse_args(argv)
    if not 0 < len(args.name.encode()) <= 11:
        parser.error("the channel name takes 1 to 11 bytes")
    psk = os.urandom(PSK_BYTES)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "eu868" if args.region == "EU_868" else "us"
    for role in ROLES:
        name = f"{role}-{suffix}.yaml"
        target = args.out / name
        target.write_text(render(HERE / name, psk, args.name))
        os.chmod(target, 0o600)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

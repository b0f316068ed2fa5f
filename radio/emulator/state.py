"""What an emulated node remembers: owner, channels, config and module config.

Defaults follow a fresh device (firmware src/mesh/NodeDB.cpp installDefaultConfig):
LONG_FAST, hop limit 3 (HOP_RELIABLE), role CLIENT, primary channel with the public
default key 0x01. Changes arrive through admin messages (admin.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from meshtastic.protobuf import admin_pb2, channel_pb2, config_pb2, localonly_pb2, mesh_pb2, module_config_pb2

# admin_pb2.AdminMessage.ConfigType values 0..7 name these LocalConfig sections, in order.
CONFIG_SECTIONS = ("device", "position", "power", "network", "display", "lora", "bluetooth", "security")
# ModuleConfigType values name the LocalModuleConfig sections in declaration order.
MODULE_SECTIONS = tuple(f.name for f in localonly_pb2.LocalModuleConfig.DESCRIPTOR.fields if f.name != "version")
CHANNEL_COUNT = 8  # firmware MAX_NUM_CHANNELS
FIRMWARE_VERSION = "2.7.11.emulated"


def node_id(num: int) -> str:
    return f"!{num:08x}"


@dataclass
class DeviceState:
    """One node's settings; guarded by ``lock`` because admin and handshake run on different threads."""

    num: int
    long_name: str
    short_name: str
    config: localonly_pb2.LocalConfig = field(default_factory=localonly_pb2.LocalConfig)
    module_config: localonly_pb2.LocalModuleConfig = field(default_factory=localonly_pb2.LocalModuleConfig)
    channels: list[channel_pb2.Channel] = field(default_factory=list)
    canned_messages: str = ""
    ringtone: str = ""
    position: mesh_pb2.Position | None = None
    commits: int = 0  # commit_edit_settings received
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        if not self.channels:
            self.channels = default_channels()
        if not self.config.HasField("lora"):
            lora = self.config.lora
            lora.use_preset = True
            lora.modem_preset = config_pb2.Config.LoRaConfig.ModemPreset.LONG_FAST
            lora.region = config_pb2.Config.LoRaConfig.RegionCode.UNSET
            lora.hop_limit = 3  # firmware HOP_RELIABLE (src/mesh/MeshTypes.h)
            lora.tx_enabled = True
            self.config.device.role = config_pb2.Config.DeviceConfig.Role.CLIENT
            self.config.bluetooth.enabled = True
            self.config.position.position_broadcast_smart_enabled = True
            self.config.security.serial_enabled = True
            for name in CONFIG_SECTIONS:
                getattr(self.config, name).SetInParent()
            for name in MODULE_SECTIONS:
                getattr(self.module_config, name).SetInParent()

    @property
    def hop_limit(self) -> int:
        with self.lock:
            return self.config.lora.hop_limit or 3

    def user(self) -> mesh_pb2.User:
        with self.lock:
            return mesh_pb2.User(
                id=node_id(self.num),
                long_name=self.long_name,
                short_name=self.short_name,
                hw_model=mesh_pb2.HardwareModel.PORTDUINO,
                role=self.config.device.role,
            )

    def node_info(self) -> mesh_pb2.NodeInfo:
        info = mesh_pb2.NodeInfo(num=self.num, user=self.user())
        with self.lock:
            if self.position is not None:
                info.position.CopyFrom(self.position)
        return info

    def metadata(self) -> mesh_pb2.DeviceMetadata:
        with self.lock:
            return mesh_pb2.DeviceMetadata(
                firmware_version=FIRMWARE_VERSION,
                device_state_version=24,
                hasWifi=True,
                role=self.config.device.role,
                hw_model=mesh_pb2.HardwareModel.PORTDUINO,
            )

    def config_sections(self) -> list[config_pb2.Config]:
        with self.lock:
            out = []
            for name in CONFIG_SECTIONS:
                section = config_pb2.Config()
                getattr(section, name).CopyFrom(getattr(self.config, name))
                out.append(section)
            return out

    def module_sections(self) -> list[module_config_pb2.ModuleConfig]:
        with self.lock:
            out = []
            for name in MODULE_SECTIONS:
                section = module_config_pb2.ModuleConfig()
                getattr(section, name).CopyFrom(getattr(self.module_config, name))
                out.append(section)
            return out

    def config_section(self, config_type: int) -> config_pb2.Config:
        section = config_pb2.Config()
        if 0 <= config_type < len(CONFIG_SECTIONS):
            name = CONFIG_SECTIONS[config_type]
            with self.lock:
                getattr(section, name).CopyFrom(getattr(self.config, name))
        elif config_type == admin_pb2.AdminMessage.ConfigType.SESSIONKEY_CONFIG:
            section.sessionkey.SetInParent()
        return section

    def module_section(self, module_type: int) -> module_config_pb2.ModuleConfig:
        section = module_config_pb2.ModuleConfig()
        if 0 <= module_type < len(MODULE_SECTIONS):
            name = MODULE_SECTIONS[module_type]
            with self.lock:
                getattr(section, name).CopyFrom(getattr(self.module_config, name))
        return section


def default_channels() -> list[channel_pb2.Channel]:
    channels = [channel_pb2.Channel(index=i, role=channel_pb2.Channel.Role.DISABLED) for i in range(CHANNEL_COUNT)]
    primary = channels[0]
    primary.role = channel_pb2.Channel.Role.PRIMARY
    primary.settings.psk = b"\x01"  # the public default key, as a fresh device has (channel.proto)
    return channels

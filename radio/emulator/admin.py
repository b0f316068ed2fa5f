"""Answers the admin messages a client sends to its own node (sans-IO).

The CLI's ``--export-config`` waits without a timeout for the canned-message and
ringtone answers (meshtastic/node.py get_canned_message / get_ringtone), and
``--configure`` sends begin_edit_settings, set_owner, set_channel, set_config,
set_module_config, set_fixed_position, commit_edit_settings (research note 4).
"""

from __future__ import annotations

import os

from meshtastic.protobuf import admin_pb2, mesh_pb2

from radio.emulator.state import CHANNEL_COUNT, DeviceState


def handle_admin(state: DeviceState, request: admin_pb2.AdminMessage) -> admin_pb2.AdminMessage | None:
    """Apply a request; return the response for get-requests, None for set-requests."""
    which = request.WhichOneof("payload_variant")
    resp = admin_pb2.AdminMessage()
    # A session key lets the client send further admin messages (firmware AdminModule).
    resp.session_passkey = os.urandom(8)
    with state.lock:
        if which == "get_config_request":
            resp.get_config_response.CopyFrom(state.config_section(request.get_config_request))
        elif which == "get_module_config_request":
            resp.get_module_config_response.CopyFrom(state.module_section(request.get_module_config_request))
        elif which == "get_channel_request":
            index = request.get_channel_request - 1  # the request is index + 1
            if 0 <= index < CHANNEL_COUNT:
                resp.get_channel_response.CopyFrom(state.channels[index])
            else:
                return None
        elif which == "get_owner_request":
            resp.get_owner_response.CopyFrom(state.user())
        elif which == "get_device_metadata_request":
            resp.get_device_metadata_response.CopyFrom(state.metadata())
        elif which == "get_canned_message_module_messages_request":
            resp.get_canned_message_module_messages_response = state.canned_messages
        elif which == "get_ringtone_request":
            resp.get_ringtone_response = state.ringtone
        else:
            _apply_set(state, request, which)
            return None
    return resp


def _apply_set(state: DeviceState, request: admin_pb2.AdminMessage, which: str | None) -> None:
    if which == "set_owner":
        owner = request.set_owner
        if owner.long_name:
            state.long_name = owner.long_name
        if owner.short_name:
            state.short_name = owner.short_name
    elif which == "set_channel":
        channel = request.set_channel
        if 0 <= channel.index < CHANNEL_COUNT:
            state.channels[channel.index].CopyFrom(channel)
    elif which == "set_config":
        section = request.set_config.WhichOneof("payload_variant")
        if section is not None and section in {f.name for f in state.config.DESCRIPTOR.fields}:
            getattr(state.config, section).CopyFrom(getattr(request.set_config, section))
    elif which == "set_module_config":
        section = request.set_module_config.WhichOneof("payload_variant")
        if section is not None:
            getattr(state.module_config, section).CopyFrom(getattr(request.set_module_config, section))
    elif which == "set_canned_message_module_messages":
        state.canned_messages = request.set_canned_message_module_messages
    elif which == "set_ringtone_message":
        state.ringtone = request.set_ringtone_message
    elif which == "set_fixed_position":
        state.position = mesh_pb2.Position()
        state.position.CopyFrom(request.set_fixed_position)
        state.config.position.fixed_position = True
    elif which == "remove_fixed_position":
        state.position = None
        state.config.position.fixed_position = False
    elif which == "commit_edit_settings":
        state.commits += 1
    # begin_edit_settings, set_time_only, reboot_seconds, favourites...: accepted, nothing to keep

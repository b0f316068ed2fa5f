"""The wire format: message kinds, compact encoding, signing and fragmentation.

Sans-IO: functions take bytes and values and return bytes, values or events.  Nothing
here opens a file or a socket or reads a clock, and nothing imports the other
fieldkit packages.
"""

from .entry import (
    EPOCH,
    ID_SIZE,
    LINK_SIZE,
    MAX_ENTRY_SIZE,
    Entry,
    Origin,
    OriginChannel,
    Unverified,
    decode_entry,
    decode_entry_prefix,
    link_to,
    open_entry,
    sign_entry,
    split_entries,
)
from .errors import DecodeError, EncodeError, FieldkitError, VerifyError
from .keys import KeyPair, Signer, author_tag, key_id
from .kinds import BODY_TYPES, KIND_OF, PROPOSAL_KINDS, AckStatus, Kind, Role, options_of
from .schema import REF_SIZE

__all__ = [
    "BODY_TYPES",
    "EPOCH",
    "ID_SIZE",
    "KIND_OF",
    "LINK_SIZE",
    "MAX_ENTRY_SIZE",
    "PROPOSAL_KINDS",
    "REF_SIZE",
    "AckStatus",
    "DecodeError",
    "EncodeError",
    "Entry",
    "FieldkitError",
    "KeyPair",
    "Kind",
    "Origin",
    "OriginChannel",
    "Role",
    "Signer",
    "Unverified",
    "VerifyError",
    "author_tag",
    "decode_entry",
    "decode_entry_prefix",
    "key_id",
    "link_to",
    "open_entry",
    "options_of",
    "sign_entry",
    "split_entries",
]

"""Typed errors of the wire format.

Every error carries a ``reason`` a person can read.  The decoder raises only
:class:`DecodeError` and :class:`VerifyError`, whatever the bytes (tests fuzz this).
"""

from __future__ import annotations


class FieldkitError(Exception):
    """Base of every typed fieldkit error; ``reason`` is the human-readable cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DecodeError(FieldkitError):
    """Bytes that are not a well-formed, canonical encoding."""


class VerifyError(FieldkitError):
    """A well-formed entry whose signature does not check against its author's key."""


class EncodeError(FieldkitError, ValueError):
    """A value that cannot be put on the wire (out of range, too long, ...)."""

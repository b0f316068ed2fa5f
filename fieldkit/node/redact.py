"""No phone number in the node's logs: a keyed hash prefix instead (issue 17).

A :class:`logging.Filter` on the node's log handler rewrites every phone-number-looking
run of digits in a record's message and arguments (whatever module logged it: the SMS
service, the modem driver, the link, the bus) to ``#`` + 6 bytes of a keyed BLAKE2b under
a subkey of the home's data key.  The same number gives the same pseudonym for the life
of the home, so an operator can still follow one sender through the log; without the
data key nobody can tell whose it is (a plain hash of a number falls to a search of all
numbers in minutes).  Digits shorter than 7 are left alone: PINs are never logged at all.
"""

from __future__ import annotations

import logging
import re

from codec.sealing import Sealer

# E.164 numbers are at most 15 digits (ITU-T E.164 §6); 7 is the shortest subscriber number
# length in use, and leaves counts, ports and ids alone.
NUMBER = re.compile(r"(?<![\w#])\+?\d{7,15}(?!\w)")


class RedactNumbers(logging.Filter):
    def __init__(self, sealer: Sealer) -> None:
        super().__init__()
        self._names = sealer.derive("log-pseudonyms")

    def _sub(self, text: str) -> str:
        return NUMBER.sub(lambda m: self._names.pseudonym(m.group(0)), text)

    def _clean(self, value: object) -> object:
        if isinstance(value, str):
            return self._sub(value)
        if isinstance(value, (dict, list, tuple, set)):
            return self._sub(repr(value))
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self._sub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self._clean(v) for k, v in record.args.items()}
        return True


def redact_handlers(sealer: Sealer, logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactNumbers) for f in handler.filters):
            handler.addFilter(RedactNumbers(sealer))

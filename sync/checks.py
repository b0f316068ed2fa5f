"""Signature checks of a long import, on a helper process while the store places and folds.

A batch is placed and folded while the helper checks its signatures, and written only
once every check has passed (sync/store.py ``Store._add_timed``); the next batch's checks
start as soon as this one is placed (``Store.add_batches``).  A process, not a thread:
libsodium runs without the GIL, but a thread needs the GIL back after every check, and
the fold holds it for milliseconds at a time (the interpreter's switch interval, 5 ms);
measured with ``bench store``, checks on threads got done only while the store's thread
waited for them, 25 us an entry.

The helper is ``python -m sync.checks``: a fresh interpreter that imports only PyNaCl and
inherits no open file, lock or thread of the store (``multiprocessing`` would either fork
all of those or run the parent's ``__main__`` again).  It reads fixed-size jobs on stdin
and answers one byte per job on stdout, in order.  If it cannot start or dies, the
remaining checks are done here: slower, never wrong.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path

import nacl.exceptions
from nacl.bindings import crypto_sign_open

Job = tuple[bytes, bytes, bytes]  # (public key, entry id, signature)
_JOB = 32 + 32 + 64
_COUNT = 4  # bytes of a frame's job count


def signature_ok(key: bytes, entry_id: bytes, signature: bytes) -> bool:
    """Ed25519 check of an entry id (libsodium through PyNaCl's binding, no wrapper objects)."""
    try:
        crypto_sign_open(signature + entry_id, key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def check_all(jobs: list[Job]) -> list[bool]:
    """Whether each signature is the key's over the entry id."""
    return [signature_ok(key, entry_id, signature) for key, entry_id, signature in jobs]


def _frame(jobs: list[Job]) -> bytes:
    if any(len(k) != 32 or len(i) != 32 or len(s) != 64 for k, i, s in jobs):
        raise ValueError("a signature check needs a 32-byte key, a 32-byte id and a 64-byte signature")
    return len(jobs).to_bytes(_COUNT, "big") + b"".join(k + i + s for k, i, s in jobs)


class SignatureChecks:
    """Helper processes for signature checks, each started at its first job, all stopped by
    ``close``; jobs go to them in turn."""

    def __init__(self, processes: int = 1) -> None:
        self.helpers = [_Helper() for _ in range(processes)]
        self._turn = 0

    def submit(self, jobs: list[Job]) -> Future[list[bool]]:
        """The checks of ``jobs`` (a future of one answer per job, in order)."""
        helper = self.helpers[self._turn]
        self._turn = (self._turn + 1) % len(self.helpers)
        return helper.submit(jobs)

    def close(self) -> None:
        for helper in self.helpers:
            helper.close()


class _Helper:
    """One helper process, fed by a writer thread and answered through a reader thread."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._waiting: deque[tuple[list[Job], Future[list[bool]]]] = deque()
        self._lock = threading.Condition()  # guards the queue; the reader waits on it for work
        self._frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # to write; None: the end
        self._reader: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._broken = False
        self._closing = False

    def submit(self, jobs: list[Job]) -> Future[list[bool]]:
        future: Future[list[bool]] = Future()
        frame = _frame(jobs)
        with self._lock:
            if not self._broken and self._proc is None:
                self._start()
            if self._broken:
                future.set_result(check_all(jobs))
                return future
            self._waiting.append((jobs, future))
            self._frames.put(frame)  # written by the writer thread: a full pipe never stalls the store
            self._lock.notify()
        return future

    def _write(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        while (frame := self._frames.get()) is not None:
            try:
                proc.stdin.write(frame)
                proc.stdin.flush()
            except (OSError, ValueError):
                self._fail()
                return
        try:
            proc.stdin.close()  # end of input: the helper exits
        except OSError:
            pass

    def _start(self) -> None:
        self._closing = False
        self._frames = queue.SimpleQueue()
        env = dict(os.environ)
        here = str(Path(__file__).resolve().parents[1])  # the folder holding the sync package
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "sync.checks"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        except OSError:
            self._broken = True
            return
        self._reader = threading.Thread(target=self._read, name="signature-checks-read", daemon=True)
        self._writer = threading.Thread(target=self._write, name="signature-checks-write", daemon=True)
        self._reader.start()
        self._writer.start()

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        while True:
            with self._lock:
                while not self._waiting and not self._closing:
                    self._lock.wait()
                if not self._waiting:
                    return
                head = self._waiting[0]
            jobs, future = head
            answer = proc.stdout.read(len(jobs))
            if len(answer) != len(jobs):
                self._fail()
                return
            with self._lock:
                if not self._waiting or self._waiting[0] is not head:
                    return  # answered here already (_fail)
                self._waiting.popleft()
            future.set_result([b == 1 for b in answer])

    def _fail(self) -> None:
        """The helper is gone: what it was asked is checked here."""
        with self._lock:
            self._broken = True
            waiting, self._waiting = list(self._waiting), deque()
        for jobs, future in waiting:
            if not future.done():
                future.set_result(check_all(jobs))

    def close(self) -> None:
        """Stop the helper once it has answered what it was asked."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with self._lock:
            self._closing = True
            self._lock.notify()
        self._frames.put(None)
        if self._writer is not None:
            self._writer.join(timeout=5)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        self._fail()  # anything still unanswered
        self._broken = False  # a later job starts a helper again


def _serve() -> None:
    """The helper's loop: a frame of jobs in, one byte per job out, until stdin ends."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(_COUNT)
        if len(head) < _COUNT:
            return
        count = int.from_bytes(head, "big")
        body = stdin.read(count * _JOB)
        if len(body) < count * _JOB:
            return
        jobs = [(body[at : at + 32], body[at + 32 : at + 64], body[at + 64 : at + _JOB])
                for at in range(0, len(body), _JOB)]
        stdout.write(bytes(check_all(jobs)))
        stdout.flush()


if __name__ == "__main__":
    _serve()

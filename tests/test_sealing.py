"""The sealing primitive and the sealed log format (codec/sealing.py, sync/log.py)."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codec.sealing import OVERHEAD, Sealer, SealError
from sync.db import remove_index
from sync.log import PREFIX, LogDamaged, StoreLocked, salvage
from sync.store import LOG_FILE, VIEWS_FILE, Store, log_sealer
from tests.store_helpers import KEYS, T0, chain, wire

KEY = Sealer(bytes(range(32)))


@given(st.binary(max_size=4096))
def test_seal_roundtrip_and_every_bit_flip_is_refused(data: bytes) -> None:
    blob = KEY.seal(data)
    assert len(blob) == len(data) + OVERHEAD
    assert KEY.open(blob) == data and KEY.try_open(blob) == data and KEY.try_open(memoryview(blob)) == data
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x01
    assert KEY.try_open(bytes(flipped)) is None
    with pytest.raises(SealError):
        KEY.open(bytes(flipped))


def test_purposes_do_not_open_each_other() -> None:
    blob = KEY.derive("log").seal(b"a record")
    assert KEY.derive("log").open(blob) == b"a record"
    for other in (KEY, KEY.derive("views"), Sealer(bytes(32)).derive("log")):
        assert other.try_open(blob) is None
    assert KEY.derive("a").mac(b"x") != KEY.derive("b").mac(b"x")
    assert "log" in repr(KEY.derive("log")) and bytes(range(32)).hex() not in repr(KEY)


def _sealed_store(folder: Path) -> list[bytes]:
    entries = chain(KEYS[0], 6, text="secret agenda ")
    with Store.open(folder, sealer=KEY) as store:
        store.add_many([wire(e) for e in entries], T0)
    return [e.id for e in entries]


def test_a_sealed_store_shows_nothing_and_reopens(tmp_path: Path) -> None:
    ids = _sealed_store(tmp_path)
    for name in (LOG_FILE, VIEWS_FILE):
        data = (tmp_path / name).read_bytes()
        assert b"secret agenda" not in data and KEYS[0].public_key not in data
        assert all(i not in data for i in ids)
    with Store.open(tmp_path, sealer=KEY) as store:
        assert len(store) == 6 and store.notices == []  # the sealed views file was read back, not rebuilt
    with pytest.raises(StoreLocked, match="encrypted"):
        Store.open(tmp_path)
    with pytest.raises(StoreLocked, match="does not open"):
        Store.open(tmp_path, sealer=Sealer(bytes(32)))
    with pytest.raises(StoreLocked):
        salvage((tmp_path / LOG_FILE).read_bytes())
    assert len(salvage((tmp_path / LOG_FILE).read_bytes(), log_sealer(KEY)).records) == 6


def test_a_tampered_sealed_record_is_damage_and_a_torn_one_is_cut(tmp_path: Path) -> None:
    ids = _sealed_store(tmp_path)
    log = tmp_path / LOG_FILE
    image = log.read_bytes()
    offsets = [o for o, _r in salvage(image, log_sealer(KEY)).records]
    tampered = bytearray(image)
    at = offsets[2]
    tampered[at + 60] ^= 0x01  # inside the sealed content, with a CRC made to match: only the MAC can tell
    length, _crc = PREFIX.unpack_from(tampered, at)
    PREFIX.pack_into(tampered, at, length, zlib.crc32(tampered[at + PREFIX.size : at + PREFIX.size + length]))
    log.write_bytes(bytes(tampered))
    # Open reads only the index, not the log: the tampered record refuses when it is read.
    with Store.open(tmp_path, sealer=KEY) as store, pytest.raises(LogDamaged):
        [store.get(i) for i in ids]
    remove_index(tmp_path)  # without an index, open reads the whole log, and refuses
    with pytest.raises(LogDamaged):
        Store.open(tmp_path, sealer=KEY)
    log.write_bytes(image[: offsets[-1] + 30])  # the last record cut short by a crash
    with Store.open(tmp_path, sealer=KEY) as store:
        assert len(store) == 5 and any("torn" in n for n in store.notices)


def test_nonces_never_repeat_within_a_sealer_across_sealers_or_after_a_fork() -> None:
    """The nonce is a random 16-byte prefix per sealer and a counter (codec/sealing.py): one
    sealer never repeats one, two sealers of one key (two processes, two runs) draw other
    prefixes, and a forked child draws a fresh prefix instead of continuing its parent's counter.
    Every blob still opens with the plain libsodium construction (nonce | MAC | ciphertext)."""
    import os

    import nacl.bindings

    key = bytes(range(32))
    first, second = Sealer(key), Sealer(key)
    blobs = [first.seal(b"same plaintext") for _ in range(5000)]
    nonces = {b[:24] for b in blobs}
    assert len(nonces) == len(blobs) and len({b[:16] for b in blobs}) == 1
    assert second.seal(b"same plaintext")[:16] != blobs[0][:16]
    assert all(nacl.bindings.crypto_secretbox_open(b[24:], b[:24], key) == b"same plaintext" for b in blobs[:50])
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next nonce, to the parent
        try:
            os.write(write, first.seal(b"x")[:24])
        finally:
            os._exit(0)
    os.close(write)
    child_nonce = os.read(read, 24)
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child_nonce) == 24 and child_nonce[:16] != blobs[0][:16] and child_nonce not in nonces
    assert first.seal(b"x")[:16] == blobs[0][:16]  # the parent goes on with its own prefix


def test_a_sealed_store_looks_up_a_predecessor_without_walking_its_batch(tmp_path: Path) -> None:
    """A reopened sealed store knows no author's newest id: each author's first entry asks the
    log for its predecessor's record.  Records of the batch being written are found by their
    place; before, every such lookup walked the whole batch first (in a bundle of thousands,
    about 1 ms for each author's first entry), and the entries are still what the log holds."""
    first = [chain(k, 3) for k in KEYS]
    with Store.open(tmp_path, sealer=KEY) as store:
        store.add_many([wire(e) for c in first for e in c[:1]], T0)
    walked = []
    real = Store._unwritten

    def counted(self):  # type: ignore[no-untyped-def]
        walked.append(1)
        return real(self)

    Store._unwritten = counted  # type: ignore[method-assign]
    try:
        with Store.open(tmp_path, sealer=KEY) as store:
            results = store.add_many([wire(e) for c in first for e in c[1:]], T0)
            assert {r.outcome.value for r in results} == {"added"}
            assert walked == []
    finally:
        Store._unwritten = real  # type: ignore[method-assign]
    with Store.open(tmp_path, sealer=KEY) as store:
        assert all(store.get(e.id) == e for c in first for e in c)

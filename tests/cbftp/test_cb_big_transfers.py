"""Big files through the CB simulator: the data channel reads uploads in batches and sends downloads many
TLS records per loop turn, and the SHA-256 CB records of a received file is computed on a thread of its
own once an upload passes ``StagedUpload.INLINE_HASH_BYTES``. Whatever the path, what CB records and
keeps is exactly what the client sent (``ftplib.FTP_TLS`` over real sockets), and a download of a file
bigger than every buffer arrives whole and only then leaves out/.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import random
from datetime import timedelta
from pathlib import Path

import pytest

from simulators.cbftp.maintenance import next_outage, outage_around
from simulators.core.ftpserver import StagedUpload
from simulators.core.store import Store

from .wire import runtime_login

RELATION, PASSWORD = "7000123", "cb-secret"
BIG = 3 * StagedUpload.INLINE_HASH_BYTES + 12345  # past the inline part, not a multiple of any buffer


class _CB:
    def __init__(self, koppelsim) -> None:
        self.koppelsim = koppelsim
        self.runtime = koppelsim.runtime
        self.model = self.runtime.simulators["cbftp"].model

    def login(self) -> ftplib.FTP_TLS:
        return runtime_login(self.runtime, timeout=20)

    def received(self, name: str) -> dict:
        (entry,) = [f for f in self.model.files(RELATION, "in") if f["name"] == name]
        return entry

    def archived(self, name: str) -> bytes:
        (path,) = (self.model.archive / RELATION).glob(f"*-{name}")
        return path.read_bytes()


@pytest.fixture
def cb(koppelsim) -> _CB:
    handle = _CB(koppelsim)
    maintenance = handle.model.config.maintenance
    window = outage_around(koppelsim.now(), maintenance) or next_outage(koppelsim.now(), maintenance)
    if window is not None and window[0] - koppelsim.now() < timedelta(hours=2):
        koppelsim.runtime.scheduler.advance_to(window[1])
    return handle


def close_quietly(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        ftp.close()


def test_a_big_binary_upload_is_recorded_with_the_sha256_of_every_byte(cb):
    data = os.urandom(BIG)
    ftp = cb.login()
    try:
        # Odd block sizes: the batches the server reads do not line up with what the client writes.
        assert ftp.storbinary("STOR in/big-upload.zip", io.BytesIO(data), blocksize=70001).startswith("226")
    finally:
        close_quietly(ftp)
    entry = cb.received("big-upload.zip")
    assert (entry["kind"], entry["size"]) == ("attachment", len(data))
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert cb.archived("big-upload.zip") == data
    assert cb.model.findings() == []


def test_a_big_ascii_upload_is_stored_with_local_line_ends_and_fingerprinted_as_stored(cb):
    rng = random.Random(7)
    lines = [("".join(rng.choice("abcdefghij0123456789 ;") for _ in range(rng.randrange(0, 120)))).encode()
             for _ in range(60000)]
    sent = b"".join(line + b"\r\n" for line in lines)
    assert len(sent) > StagedUpload.INLINE_HASH_BYTES
    stored = sent.replace(b"\r\n", b"\n")
    ftp = cb.login()
    try:
        ftp.voidcmd("TYPE A")
        conn = ftp.transfercmd("STOR in/big-text.txt")
        try:
            for offset in range(0, len(sent), 65537):  # chunks that split some CRLFs in two
                conn.sendall(sent[offset:offset + 65537])
            conn.unwrap()
        finally:
            conn.close()
        assert ftp.voidresp().startswith("226")
    finally:
        close_quietly(ftp)
    entry = cb.received("big-text.txt")  # not an order CB can read: refused in out/, but recorded as sent
    assert entry["size"] == len(stored)
    assert entry["sha256"] == hashlib.sha256(stored).hexdigest()
    assert cb.archived("big-text.txt") == stored


def test_a_big_download_arrives_whole_and_only_then_leaves_out(cb):
    data = os.urandom(BIG)
    cb.model.place_file(RELATION, "big-download.zip", data)
    ftp = cb.login()
    try:
        sink = io.BytesIO()
        assert ftp.retrbinary("RETR out/big-download.zip", sink.write, blocksize=8192).startswith("226")
    finally:
        close_quietly(ftp)
    assert sink.getvalue() == data
    assert not (cb.model.folder(RELATION, "out") / "big-download.zip").exists()
    assert cb.model.findings() == []


# -- StagedUpload on its own ---------------------------------------------------------------------------

def _feed(upload: StagedUpload, data: bytes, batch: int, foreign_every: int = 0) -> None:
    """Write ``data`` as the data channel does: into the lent buffer, then a slice of it; every
    ``foreign_every``-th piece as bytes of its own (what the ASCII conversion hands over)."""
    for number, offset in enumerate(range(0, len(data), batch)):
        piece = data[offset:offset + batch]
        if foreign_every and number % foreign_every == 0:
            upload.batch_buffer(batch)  # lent, and left unused
            upload.write(piece)
        else:
            buffer = upload.batch_buffer(batch)
            buffer[:len(piece)] = piece
            upload.write(buffer[:len(piece)])


@pytest.mark.parametrize("foreign_every", [0, 3])
def test_the_fingerprint_of_a_staged_upload_is_the_sha256_of_what_was_written(tmp_path: Path, foreign_every: int):
    store = Store(tmp_path / "state")
    try:
        data = os.urandom(BIG)
        final = store.area("in") / "x.zip"
        published: list[StagedUpload] = []
        upload = StagedUpload(final, store, on_published=published.append, fingerprint=True)
        _feed(upload, data, 256 * 1024 - 7, foreign_every)
        upload.commit = True
        upload.close()
        assert published == [upload] and final.read_bytes() == data
        assert (upload.size, upload.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    finally:
        store.close()


def test_an_aborted_big_upload_leaves_nothing_and_stops_its_hashing(tmp_path: Path):
    store = Store(tmp_path / "state")
    try:
        final = store.area("in") / "x.zip"
        upload = StagedUpload(final, store, fingerprint=True)
        _feed(upload, os.urandom(BIG), 100_000)
        staging = upload.staging
        upload.close()  # no commit: the transfer did not complete
        assert not final.exists() and not staging.exists()
        assert list((store.files_root / ".staging").iterdir()) == []
    finally:
        store.close()


def test_without_a_fingerprint_nothing_is_hashed_on_the_way_and_sha256_reads_the_file(tmp_path: Path):
    store = Store(tmp_path / "state")
    try:
        data = os.urandom(5000)
        final = store.area("in") / "x.xml"
        upload = StagedUpload(final, store)  # what Digipoort does: it records the size only
        _feed(upload, data, 1024)
        upload.commit = True
        upload.close()
        assert upload._digest is None
        assert (upload.size, upload.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    finally:
        store.close()

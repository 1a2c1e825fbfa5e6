"""Regression: listing an empty OUT over FTPS (PROT P) must always succeed.

An empty transfer used to race the data channel's TLS handshake: pyftpdlib closed the connection
mid-handshake and Python's ftplib failed with "shutdown while in init" on about one empty NLST in three
under load (fixed in core/ftpserver.py, StagingDTPHandler.send/handle_close). A submitter polls an
empty OUT far more often than anything else, so this keeps hammering it from several clients at once.
"""

from __future__ import annotations

import ftplib
import threading

THREADS = 3
LISTINGS_PER_THREAD = 100
JOIN_SECONDS = 60.0  # real time; the whole test normally takes a few seconds


def _poller(digipoort, start: threading.Barrier, results: list, errors: list) -> None:
    ftp = ftplib.FTP_TLS(context=digipoort.ssl_context(), timeout=10)
    try:
        ftp.connect(digipoort.host, digipoort.port)
        ftp.auth()
        ftp.login(digipoort.user, digipoort.password)
        ftp.prot_p()
        start.wait(timeout=10)
        for _ in range(LISTINGS_PER_THREAD):
            results.append(ftp.nlst("OUT"))
    except Exception as exc:  # reported by the test, with the listing it failed at
        errors.append(f"after {len(results)} listings: {type(exc).__name__}: {exc}")
    finally:
        try:
            ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            ftp.close()


def test_300_concurrent_empty_NLSTs_of_OUT_over_TLS_all_succeed(digipoort, koppelsim):
    start = threading.Barrier(THREADS)
    outcomes = [([], []) for _ in range(THREADS)]
    threads = [threading.Thread(target=_poller, args=(digipoort, start, results, errors), daemon=True)
               for results, errors in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(t.is_alive() for t in threads), f"a poller is still running after {JOIN_SECONDS}s"

    errors = [e for _, errs in outcomes for e in errs]
    listings = [listing for results, _ in outcomes for listing in results]
    assert errors == []
    assert len(listings) == THREADS * LISTINGS_PER_THREAD
    assert all(listing == [] for listing in listings)
    # Every one of them was a complete transfer on the server's side too.
    nlsts = koppelsim.journal.entries(kind="ftp.command", match={"command": "NLST"})
    assert len(nlsts) == THREADS * LISTINGS_PER_THREAD
    failed = [e for e in koppelsim.journal.entries(kind="ftp.reply") if e["code"][0] in "45"]
    assert failed == []

"""``koppelsim digipoort example-return`` and ``meta``: what a developer needs to submit with the client or with
their own FTP client. Both files are made by the commands, sent with Python's ftplib over FTPS, and the
simulator's real checks (meta schema, size and checksum, the VAT return's own checks) accept them."""

from __future__ import annotations

import ftplib
import io
import ssl
import subprocess
import sys

from clients.xbrl import read_vat_return

AT = "2026-11-20T08:00:00Z"


def koppelsim_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulators", "digipoort", "--at", AT, *args],
                          capture_output=True, timeout=60)


def test_example_return_and_its_meta_file_are_accepted_from_a_plain_ftp_client(digipoort, koppelsim, tmp_path):
    data = tmp_path / "aangifte.xbrl"
    made = koppelsim_cli("example-return", "-o", str(data))
    assert made.returncode == 0, made.stderr
    facts = read_vat_return(data.read_bytes())
    assert (facts["period_start"].isoformat(), facts["period_end"].isoformat()) == ("2026-10-01", "2026-10-31")
    meta = koppelsim_cli("meta", str(data), "--berichtsoort", "Omzetbelasting", "--identity", "001000044B37")
    assert meta.returncode == 0, meta.stderr

    ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=digipoort.ca_file), timeout=10)
    ftp.connect(digipoort.host, digipoort.port)
    ftp.auth()
    ftp.login(digipoort.user, digipoort.password)
    ftp.prot_p()
    try:
        ftp.storbinary("STOR IN/aangifte.xbrl", io.BytesIO(data.read_bytes()))
        ftp.storbinary("STOR IN/aangifte.meta", io.BytesIO(meta.stdout))
        (ok,) = [name for name in ftp.nlst("OUT") if name.rsplit("/", 1)[-1].startswith("aangifte_")]
        assert ok.endswith(".ok"), ok
        kenmerk = ok.rsplit("/", 1)[-1][len("aangifte_"):-len(".ok")]
        koppelsim.advance("15m")
        answer = io.BytesIO()
        ftp.retrbinary(f"RETR OUT/{kenmerk}", answer.write)
        assert b"<ResponseType>acknowledgement</ResponseType>" in answer.getvalue()
    finally:
        ftp.quit()


def test_example_return_refuses_boxes_that_do_not_add_up_naming_the_box():
    made = koppelsim_cli("example-return", "--period", "2026-Q3", "--box", "1a=10000", "--box", "1a_btw=2100",
                         "--box", "5a=999")
    assert made.returncode != 0 and made.stdout == b""
    assert b"box 5a is 999 but the VAT boxes add up to 2100" in made.stderr
    made = koppelsim_cli("example-return", "--period", "2026-13")
    assert made.returncode != 0 and b"must look like 2026-10" in made.stderr

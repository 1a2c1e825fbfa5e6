"""CB's answers to an order file: the ONTBEV receipt, its file name, and the XML error file for a file too
corrupt for a receipt. Sources and [CHOSEN] as in ``digicom.py``.

ONTBEV (W2): version 9908A, records 0, 1 (AFZ = CB, ONTV = customer), 2 (transaction, mandatory),
3 (error lines, only when there are errors) and 9. W2's stored copy lost the ids of records 2, 3 and 9.
Ours are [CHOSEN] in the ``ONTBEV_*`` constants, in W2's shapes.
"""

from __future__ import annotations

import itertools
import os
import re
from datetime import datetime
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from lxml import etree

from .digicom import CB_RELATION_ID, CODES, DigicomMessage, Refusal, SyntaxFinding, clean, is_digits, shown

ONTBEV_VERSION = "9908A"  # W2
_CB_TIME = ZoneInfo("Europe/Amsterdam")  # [CHOSEN] CB (Culemborg) writes local times

# [CHOSEN] field ids of the receipt body. W2 gives only their formats: record 2 is AN, N, AN, N, N, N;
# record 3 is N, AN; record 9 is N, N, AN. We reuse OPDNAW ids where the meaning is the same.
ONTBEV_ORIGINAL_REFERENCE, ONTBEV_ORIGINAL_DATE, ONTBEV_ORIGINAL_TYPE = "0006", "0004", "0002"
ONTBEV_ACCEPTED, ONTBEV_RECORDS_READ, ONTBEV_ERROR_COUNT = "0020", "0021", "0022"
ONTBEV_ERROR_LINE, ONTBEV_ERROR_FIELD, ONTBEV_ERROR_CODE = "0030", "0031", "0032"
ONTBEV_ERROR_TEXT_NL, ONTBEV_ERROR_TEXT_EN = "0033", "0034"


def _local(now: datetime) -> datetime:
    return now.astimezone(_CB_TIME) if now.tzinfo else now


def _record(*fields: tuple[str, object]) -> str:
    return "".join(f"#{fid}{clean(value)}" for fid, value in fields)


def build_ontbev(*, original: DigicomMessage | None, findings: Iterable[SyntaxFinding], relation_id: str,
                 now: datetime, reference: str, cb_relation_id: str = CB_RELATION_ID) -> bytes:
    """The ONTBEV receipt (W2): header, CB as AFZ, the customer as ONTV, one transaction record, one
    error record (type 3) per finding, and the footer.

    [CHOSEN] the body fields (``ONTBEV_*``). A file with any finding is refused as a whole, so the
    customer corrects it and sends it again. Latin-1 text with CRLF line ends.
    """
    findings = list(findings)
    header = original.header if original else None
    footer = original.footer if original else None
    original_ref = (header and header.get("0006")) or (footer and footer.get("0006")) or ""
    original_date = (header and header.get("0004")) or ""
    local = _local(now)
    lines = [
        _record(("0001", 0), ("0002", "ONTBEV"), ("0003", ONTBEV_VERSION), ("0004", f"{local:%Y%m%d}"),
                ("0005", f"{local:%H%M}"), ("0006", reference), ("0007", 0), ("0008", 0)),
        _record(("0001", 1), ("0009", "AFZ"), ("0010", cb_relation_id), ("0011", "CB")),
        _record(("0001", 1), ("0009", "ONTV"), ("0010", relation_id), ("0011", "CB")),
        _record(("0001", 2), (ONTBEV_ORIGINAL_REFERENCE, shown(original_ref)),
                (ONTBEV_ORIGINAL_DATE, original_date if is_digits(original_date) else ""),
                (ONTBEV_ORIGINAL_TYPE, shown((header and header.get("0002")) or "")),
                (ONTBEV_ACCEPTED, 0 if findings else 1),
                (ONTBEV_RECORDS_READ, len(original.records) if original else 0),
                (ONTBEV_ERROR_COUNT, len(findings))),
        *(_record(("0001", 3), (ONTBEV_ERROR_LINE, f.line), (ONTBEV_ERROR_FIELD, f.field),
                  (ONTBEV_ERROR_CODE, f.code), (ONTBEV_ERROR_TEXT_NL, f.text_nl),
                  (ONTBEV_ERROR_TEXT_EN, f.text_en))
          for f in findings),
        _record(("0001", 9), ("0015", 1), ("0016", len(findings)), ("0006", reference)),
    ]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1", errors="replace")


def receipt_file_name(*, relation_id: str, sequence: int, now: datetime) -> str:
    """``{relation id}u{4 digits}{yyyymmdd}.ont``. W2 lists these parts (relation id prefix, "u",
    a 4-digit code, a date, ``.ont`` in lower case). The order and date format are an inference.
    """
    return f"{relation_id}u{sequence % 10000:04d}{_local(now):%Y%m%d}.ont"


def receipt_file_names(*, relation_id: str, sequence: int, now: datetime) -> Iterator[str]:
    """The receipt's name, then the names of the next sequence numbers: the 4-digit code wraps after
    9999, and an unread receipt of the same day must not be replaced (``Outbox.place_out``)."""
    for offset in range(10000):
        yield receipt_file_name(relation_id=relation_id, sequence=sequence + offset, now=now)


ERROR_FILE_SUFFIX = ".fout.xml"
_MAX_NAME = 255  # CB's longest file name (``names.py``), and the file system's


def error_file_names(upload_name: str) -> Iterator[str]:
    """Names for the XML error file of ``upload_name``, best first.

    [CHOSEN] ``{stem}.fout.xml`` (``bestelling-001.txt`` -> ``bestelling-001.fout.xml``); while an
    unread error file of that name still waits in out/ (``dup.txt`` then ``dup.opd``), the next is
    ``{stem}-2.fout.xml``, then ``-3`` and so on: CB never replaces a file its customer has not fetched,
    and the ``<filename>`` inside names the upload. A stem too long for 255 characters is shortened.
    """
    stem = os.path.splitext(upload_name)[0]
    yield f"{stem[:_MAX_NAME - len(ERROR_FILE_SUFFIX)]}{ERROR_FILE_SUFFIX}"
    for number in itertools.count(2):
        tail = f"-{number}{ERROR_FILE_SUFFIX}"
        yield f"{stem[:_MAX_NAME - len(tail)]}{tail}"


_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0 chars


def build_error_xml(*, file_name: str, reason: str | Refusal, now: datetime) -> bytes:
    """The XML error file for a file too corrupt for a receipt (W2 says only that it is XML).

    [CHOSEN] shape::

        <error>
          <filename>order.opd</filename>
          <datetime>2017-01-02T21:20:00+01:00</datetime>
          <code>D902</code>
          <description xml:lang="nl">…</description>
          <description xml:lang="en">…</description>
        </error>
    """
    if isinstance(reason, Refusal):
        refusal = reason
    else:
        code = CODES["D900"]  # the caller's reason in full: no field to keep it short for
        refusal = Refusal(code.code, code.nl.format(value=reason), code.en.format(value=reason))
    root = etree.Element("error")
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    for tag, text in (("filename", file_name), ("datetime", _local(now).isoformat(timespec="seconds")),
                      ("code", refusal.code)):
        etree.SubElement(root, tag).text = _XML_UNSAFE.sub("?", text)
    for lang, text in (("nl", refusal.text_nl), ("en", refusal.text_en)):
        etree.SubElement(root, "description", {xml_lang: lang}).text = _XML_UNSAFE.sub("?", text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

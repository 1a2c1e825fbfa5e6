"""The fields a rule's ``when`` may name are the fields the events really have: a field list that missed one
would refuse a rule that works, one that listed too many would let a misspelt rule through again."""

from __future__ import annotations

from lxml import etree

from simulators.twinfield.processxml import event_of
from simulators.twinfield.service import CALL_EVENT_FIELDS, REQUEST_EVENT_FIELDS

REQUESTS = [
    "<transaction destiny='final'><header><office>O</office><code>VRK</code><invoicenumber>1</invoicenumber>"
    "</header><lines><line type='total'/></lines></transaction>",
    "<dimension><office>O</office><type>DEB</type><code>1000</code><name>N</name></dimension>",
    "<salesinvoice><header><office>O</office><invoicetype>FACTUUR</invoicetype><customer>1000</customer>"
    "<status>concept</status><invoicenumber>1</invoicenumber></header></salesinvoice>",
    "<match><set><office>O</office></set></match>",
    "<read><type>dimensions</type><office>O</office></read>",
    "<list><type>offices</type></list>",
    "<columns code='100'/>",
]


def test_every_field_a_twinfield_request_event_has_may_be_named_and_no_other():
    seen = set()
    for xml in REQUESTS:
        seen |= set(event_of(etree.fromstring(xml)))
    assert seen == REQUEST_EVENT_FIELDS
    assert CALL_EVENT_FIELDS - REQUEST_EVENT_FIELDS == {"service", "operation", "user", "organisation"}

"""What the SOAP hot path reads of a request straight from the WSGI environ (web._PlainRequest): the body by its
length, to its end when the server marks it (chunked), nothing without either (PEP 3333), never much more than
the limit; the headers SoapCall asks for; the URL a fault names."""

from __future__ import annotations

from io import BytesIO

from simulators.twinfield.web import _PlainRequest


def environ(body: bytes, **extra) -> dict:
    return {"REQUEST_METHOD": "POST", "wsgi.input": BytesIO(body), "wsgi.url_scheme": "http",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8803", "PATH_INFO": "/webservices/processxml.asmx",
            "QUERY_STRING": "", "SCRIPT_NAME": "", **extra}


def test_the_body_is_read_by_its_length_or_to_its_marked_end_and_not_without_either():
    assert _PlainRequest(environ(b"<a/>trailing", CONTENT_LENGTH="4"), 100).get_data() == b"<a/>"
    assert _PlainRequest(environ(b"<chunked/>", **{"wsgi.input_terminated": True}), 100).get_data() == b"<chunked/>"
    assert _PlainRequest(environ(b"<a/>"), 100).get_data() == b""


def test_a_body_over_the_limit_is_read_one_byte_past_it_so_the_soap_layer_can_refuse_it():
    data = _PlainRequest(environ(b"x" * 50, CONTENT_LENGTH="50"), 10).get_data()
    assert data == b"x" * 11
    chunked = _PlainRequest(environ(b"y" * 50, **{"wsgi.input_terminated": True}), 10).get_data()
    assert chunked == b"y" * 11


def test_headers_type_address_and_url():
    request = _PlainRequest(environ(b"", CONTENT_TYPE="text/xml; charset=utf-8", REMOTE_ADDR="127.0.0.9",
                                    HTTP_SOAPACTION='"http://www.twinfield.com/ProcessXmlString"',
                                    HTTP_HOST="twinfield.test:8803"), 100)
    assert request.headers.get("SOAPAction") == '"http://www.twinfield.com/ProcessXmlString"'
    assert request.headers.get("Content-Type") == "text/xml; charset=utf-8"
    assert request.headers.get("X-Missing", "none") == "none"
    assert (request.content_type, request.remote_addr) == ("text/xml; charset=utf-8", "127.0.0.9")
    assert request.url == "http://twinfield.test:8803/webservices/processxml.asmx"

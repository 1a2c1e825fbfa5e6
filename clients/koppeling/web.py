"""The koppeling's dashboard (seed 003): tab *Reporting*, tab *Errors*, and per error *more info*,
*process again* and *report problem*.

Server-rendered HTML over the service's dashboard API (``Koppeling.reporting``, ``errors``,
``error_detail``, ``process_again``; see ``service.py``) - the page reads nothing else of the koppeling,
except where it keeps problem reports (below). Every value reaches the page through Jinja's autoescape:
order data, Twinfield's messages and the request XML are text from outside and are shown, never run.

[CHOSEN] English labels, like the README and the command line; the seed's Dutch names (Rapportage,
Fouten, Meer info, Meld probleem, Verwerk) are not mixed in.

[CHOSEN] *report problem*: the seed sends the order "with all the necessary data" to the integration's
support desk. koppelsim has no support desk, so the button does the part that is real: it writes that
report (the error, Twinfield's messages, the request, the order in short, when it was reported) into the
koppeling's own state file (``meta`` key ``problem-report:<id>``), marks the error *reported* on the
Errors tab and shows the report, which ``GET /errors/<id>/report`` serves again as JSON. Nothing is sent
anywhere, and the page says so.

Safety of a page that changes state: it binds 127.0.0.1 by default, answers only ``Host: 127.0.0.1`` or
``localhost`` then (a DNS-rebinding page cannot reach it), and refuses a POST from another origin, so a
web page elsewhere cannot press *process again* for the user.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from flask import Flask, Response, abort, redirect, render_template, request, url_for
from lxml import etree
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.serving import make_server

from .lock import KoppelingBusy

if TYPE_CHECKING:
    from .service import Koppeling

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
REPORT_KEY = "problem-report:{}"
STOP_SECONDS = 5.0
T = TypeVar("T")


def create_app(koppeling: "Koppeling", trusted_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS) -> Flask:
    """The dashboard's WSGI app over one koppeling. ``trusted_hosts=None`` answers any ``Host``."""
    app = Flask(__name__, template_folder="templates")
    app.jinja_env.filters["moment"] = _moment
    app.jinja_env.filters["pretty_xml"] = _pretty_xml
    # One koppeling, one caller at a time: a process again must not run beside another one for the same order.
    lock = threading.Lock()

    def call(action: Callable[[], T]) -> T:
        with lock:
            return action()

    def page(template: str, tab: str, **values: Any) -> str:
        counts = call(lambda: (len(koppeling.reporting()), len(koppeling.errors())))
        return render_template(template, tab=tab, counts=counts, office=koppeling.config.office, **values)

    def error_entry(error_id: str) -> dict:
        entry = next((e for e in call(koppeling.errors) if e["id"] == error_id), None)
        if entry is None:
            abort(404, description=f"{error_id} is not on the Errors list.")
        return entry

    @app.before_request
    def trusted_host_and_same_origin_posts_only() -> None:
        # By hand rather than Flask's TRUSTED_HOSTS, which Flask 3.0 (our lower bound) does not have.
        if trusted_hosts and request.host.rsplit(":", 1)[0] not in trusted_hosts:
            abort(400, description="This dashboard answers only on the address it was started on.")
        if request.method != "POST":
            return
        # No Origin at all: not a browser (curl, a test client). "null" (a sandboxed frame) is refused too.
        origin = request.headers.get("Origin")
        if request.headers.get("Sec-Fetch-Site") == "cross-site" or (
                origin is not None and origin != request.host_url.rstrip("/")):
            abort(403, description="A form of another site cannot change the koppeling.")

    @app.get("/")
    def home() -> Response:
        return redirect(url_for("reporting"))

    @app.get("/reporting")
    def reporting() -> str:
        return page("reporting.html", "reporting", rows=call(koppeling.reporting))

    @app.get("/errors")
    def errors() -> str:
        rows = call(koppeling.errors)
        reported = {row["id"] for row in rows if _stored_report(koppeling, row["id"])}
        return page("errors.html", "errors", rows=rows, reported=reported)

    @app.get("/errors/<error_id>")
    def more_info(error_id: str) -> str:
        try:
            detail = call(lambda: koppeling.error_detail(error_id))
        except KeyError:
            abort(404, description=f"{error_id} is not on the Errors list.")
        return page("detail.html", "errors", error=detail, reported=_stored_report(koppeling, error_id))

    @app.post("/errors/<error_id>/process-again")
    def process_again(error_id: str) -> str | tuple[str, int]:
        # Only what the Errors list shows (the service checks it again under its lock): two presses (a
        # double click, a reload) process once, the second finds it gone. The page never waits for a run of
        # another process (the daemon, `retry`) on the same state: it says the koppeling is busy.
        def checked() -> tuple[dict, dict]:
            before = next((e for e in koppeling.errors() if e["id"] == error_id), None)
            if before is None:
                raise KeyError(error_id)
            return before, koppeling.process_again(error_id, wait=False)
        try:
            before, outcome = call(checked)
        except KeyError:
            abort(404, description=f"{error_id} is not on the Errors list.")
        except KoppelingBusy as exc:
            return problem(409, "The koppeling is busy",
                           f"{exc} Nothing was done for {error_id}; press process again in a moment.")
        posted = "check" not in outcome
        return page("outcome.html", "errors", before=before, outcome=outcome, posted=posted)

    @app.post("/errors/<error_id>/report")
    def report_problem(error_id: str) -> str:
        error_entry(error_id)
        detail = call(lambda: koppeling.error_detail(error_id))
        report = {"reported_at": _stamp(koppeling.clock.now()), "office": koppeling.config.office, **detail}
        call(lambda: koppeling.store.set_meta(REPORT_KEY.format(error_id), json.dumps(report)))
        text = json.dumps(report, indent=2, ensure_ascii=False)
        return page("report.html", "errors", report=report, text=text)

    @app.get("/errors/<error_id>/report")
    def stored_report(error_id: str) -> Response:
        report = _stored_report(koppeling, error_id)
        if report is None:
            abort(404, description=f"No problem was reported for {error_id}.")
        return app.response_class(json.dumps(report, indent=2, ensure_ascii=False),
                                  mimetype="application/json")

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    def refused(exc: HTTPException) -> tuple[str, int]:
        return problem(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(InternalServerError)
    def failed(exc: InternalServerError) -> tuple[str, int]:
        # Say what broke (Twinfield or the shop unreachable, ...), not a bare 500; the log has the trace.
        cause = exc.original_exception
        return problem(500, "The koppeling failed", f"{type(cause).__name__}: {cause}" if cause else "")

    def problem(status: int, title: str, description: str) -> tuple[str, int]:
        # No tab counts here: the koppeling may be what failed.
        return render_template("problem.html", tab=None, counts=None, office=koppeling.config.office,
                               status=status, title=title, description=description), status

    return app


def _stored_report(koppeling: "Koppeling", error_id: str) -> dict | None:
    text = koppeling.store.meta(REPORT_KEY.format(error_id))
    return json.loads(text) if text else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(stamp: str | None) -> str:
    """``2026-11-20T09:00:00Z`` as ``2026-11-20 09:00 UTC`` (the koppeling stores UTC stamps)."""
    if not stamp:
        return ""
    return stamp.replace("T", " ")[:16] + " UTC" if stamp.endswith("Z") else stamp


def _pretty_xml(text: str) -> str:
    """The request indented for reading; as it was when it is not XML. (Escaping is the template's job.)"""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError):
        return text
    return etree.tostring(root, encoding="unicode", pretty_print=True)


class DashboardServer:
    """The dashboard on a real socket: port 0 binds a free port (``url`` tells which); stop twice is safe."""

    def __init__(self, koppeling: "Koppeling", host: str = "127.0.0.1", port: int = 0) -> None:
        trusted = LOOPBACK_HOSTS if host in LOOPBACK_HOSTS else None
        self._server = make_server(host, port, create_app(koppeling, trusted), threaded=True)
        self.host, self.port = host, self._server.server_port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "DashboardServer":
        """Serve on a background thread (tests); the socket already listens, so it is ready at once."""
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="koppeling-dashboard", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (the command line)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(STOP_SECONDS)
            if self._thread.is_alive():
                raise RuntimeError("the dashboard's server thread did not stop")
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "DashboardServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

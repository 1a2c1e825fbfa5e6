"""The Twinfield model: the books of every office, who may reach them, and the login host's tokens.

Parts, each its own module: ``directory`` (organisations, offices, users, clients), ``auth`` (OAuth,
sessions), ``ledger`` (dimensions), ``vat`` (VAT codes), ``transactions`` (bookings), ``invoices``,
``matching``, ``browse``, ``finder``. Nothing here knows about HTTP or SOAP; ``processxml`` speaks
Twinfield's XML request language on top of it, ``soap`` and ``web`` the wire.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..core.errors import BadRequest, NotFound
from ..core.runtime import Context
from .auth import Auth
from .browse import Browser
from .config import Article, Dimension, Office, TwinfieldConfig, VatCode
from .directory import DIRECTORY_TABLES, Directory
from .finder import Finder
from .invoices import Invoices, invoice_view
from .ledger import LEVELS, Ledger, default_address, dimension_view
from .matching import Matching
from .schema import SCHEMA, TABLES
from .transactions import Settings, Transactions, booking_view
from .vat import VatBook, vat_view

if TYPE_CHECKING:
    from .render import Renderer

SIM = "twinfield"
# Where the names an answer writes come from (dimensions, VAT codes; offices and the rest of the directory)
_NAME_TABLES = ("tw_dimensions", "tw_vatcodes", *DIRECTORY_TABLES)


class TwinfieldModel:
    def __init__(self, ctx: Context, config: TwinfieldConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.store = ctx.store
        self.store.migrate(SIM, SCHEMA)
        self.directory = Directory(self.store)
        self.auth = Auth(self.store, self.directory, ctx.clock, config, ctx.random)
        self.ledger = Ledger(self.store)
        self.vat = VatBook(self.store)
        self.transactions = Transactions(self.store, self.ledger, self.vat,
                                         Settings(vat_tolerance=Decimal(config.vat_tolerance)))
        self.invoices = Invoices(self.store, self.ledger, self.vat, self.transactions)
        self.matching = Matching(self.store, self.transactions)
        self.browser = Browser(self.store, self.ledger)
        self.finder = Finder(self.directory, self.ledger, self.vat, self.store)
        self._names: dict = {}  # the renderers' shared names, for the tables' version below (see ``renderer``)
        self._names_version = -1
        # One write at a time: numbering, duplicate checks and matching read and then write.
        self.write_lock = threading.RLock()
        # The configured state is (re)applied at every start, as upserts: a config that gained a user or
        # an office takes effect on a state dir that already exists; bookings are never touched.
        self.seed()

    def configure(self, config: TwinfieldConfig) -> None:
        """Use new settings; the parts that took a setting when they were built get it too."""
        self.config = config
        self.auth.configure(config)
        self.transactions.settings = Settings(vat_tolerance=Decimal(str(config.vat_tolerance)))

    @property
    def renderer(self) -> "Renderer":
        """A renderer for one answer. The names it writes (a dimension's, a VAT code's) are shared by every answer
        for as long as none of the tables they come from changed: looking them up again was ~9 % of a booking."""
        from .render import Renderer

        store = self.store
        version = sum(store.changes(table) for table in _NAME_TABLES)
        if version != self._names_version:  # a new dict, not a cleared one: answers under way keep theirs
            self._names, self._names_version = {}, version
        return Renderer(self, self._names)

    def now(self):
        return self.ctx.clock.now()

    # -- seeding ----------------------------------------------------------------------------------------

    def seed(self) -> None:
        config = self.config
        for org in config.organisations:
            self.directory.put_organisation(org)
        for office in config.offices:
            self.put_office(office)
        for user in config.users:
            self.directory.put_user(user)
        for client in config.clients:
            self.directory.put_client(client)
        for dim in config.dimensions:
            self.put_dimension(dim)

    def put_office(self, office: Office) -> dict:
        if self.directory.find_office(office.code) is None:
            try:
                self.directory.organisation(office.organisation)
            except NotFound:
                raise BadRequest(f"office {office.code}: organisation {office.organisation!r} does not exist")
        view = self.directory.put_office(office)
        if office.seed_ledger:
            for dim in self.config.ledger:
                if dim.office in (None, office.code):
                    self.put_dimension(Dimension(**{**dim.__dict__, "office": office.code}))
            for vat in self.config.vat_codes:
                self.vat.put(office.code, vat)
            for article in self.config.articles:
                if article.office in (None, office.code):
                    self.put_article(office.code, article)
        return view

    def seeded_offices(self) -> list[str]:
        return [o.code for o in self.config.offices if o.seed_ledger]

    def put_dimension(self, dim: Dimension) -> list[dict]:
        """Seed a dimension (admin API, scenarios); ``office: None`` puts it in every seeded office."""
        if dim.type not in LEVELS:
            raise BadRequest(f"dimension type must be one of {', '.join(LEVELS)}, got {dim.type!r}")
        offices = [dim.office] if dim.office else self.seeded_offices()
        made = []
        for office in offices:
            if self.directory.find_office(office) is None:
                raise BadRequest(f"no office {office!r}")
            data: dict[str, Any] = {}
            if dim.matchtype:
                data["matchtype"] = dim.matchtype
            if dim.type in ("DEB", "CRD"):
                data["financials"] = {"duedays": str(dim.duedays),
                                      "substitutewith": "1300" if dim.type == "DEB" else "1600"}
                data["addresses"] = [default_address(dim.name, dim.country, dim.email)]
            if dim.vatnumber:
                data["vatnumber"] = dim.vatnumber
            made.append(dimension_view(self.ledger.put(office, dim.type, dim.code, dim.name, data, self.now())))
        return made

    def put_vat_code(self, office: str | None, vat: VatCode) -> list[dict]:
        offices = [office] if office else self.seeded_offices()
        return [vat_view(self.vat.put(o, vat)) for o in offices]

    def put_article(self, office: str, article: Article) -> dict:
        data = {"name": article.name, "unitspriceexcl": article.unitspriceexcl, "dim1": article.dim1,
                "vatcode": article.vatcode}
        with self.store.transaction() as db:
            db.execute("INSERT INTO tw_articles (office, code, data) VALUES (?,?,?) ON CONFLICT(office, code) "
                       "DO UPDATE SET data=excluded.data", (office, article.code, json.dumps(data)))
        return {"office": office, "code": article.code, **data}

    def reset(self) -> None:
        with self.write_lock:
            with self.store.transaction() as db:
                for table in reversed(TABLES):
                    db.execute(f"DELETE FROM {table}")
            self.seed()

    # -- views for the admin API and scenarios ----------------------------------------------------------

    def bookings(self, **filters: str | None) -> list[dict]:
        kind = filters.pop("kind", None)
        views = [booking_view(t) for t in self.transactions.list(**filters)]
        return [v for v in views if kind is None or v["kind"] == kind]

    def booking(self, office: str, code: str, number: str) -> dict:
        found = self.transactions.get(office, code, number)
        if found is None:
            raise NotFound(f"no booking {code} {number} in office {office}")
        return booking_view(found)

    def dimensions(self, office: str | None = None, dimtype: str | None = None) -> list[dict]:
        offices = [office] if office else [o.code for o in self.directory.offices()]
        return [dimension_view(d) for o in offices for d in self.ledger.list(o, dimtype)]

    def vat_codes(self, office: str | None = None) -> list[dict]:
        offices = [office] if office else [o.code for o in self.directory.offices()]
        return [vat_view(v) for o in offices for v in self.vat.list(o)]

    def invoice_views(self, office: str | None = None) -> list[dict]:
        return [invoice_view(i) for i in self.invoices.list(office)]

    def matches(self, office: str | None = None) -> list[dict]:
        return self.matching.list(office)

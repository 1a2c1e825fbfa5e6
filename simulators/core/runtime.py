"""The runtime: one clock, scheduler, store, journal and rule set, shared by every simulator.

``koppelsim sim``, the pytest plugin and the scenario runner all build a ``Runtime``; they differ only
in the clock (system vs virtual), the ports (fixed vs 0) and whether the admin API is served.
"""

from __future__ import annotations

import importlib
import logging
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .clock import Clock
from .clockstate import durable_clock
from .statelock import StateDirLock
from .config import SimConfig, register_section
from .journal import Journal
from .lifecycle import Endpoint
from .rules import Rules
from .scheduler import Scheduler
from .store import Store
from .tls import TLSFiles, ensure_tls

if TYPE_CHECKING:
    from flask import Blueprint

log = logging.getLogger(__name__)

# Every simulator the runtime knows: section name -> "module:Class", in start order (the mailbox
# first: others send it mail). Imported on demand so a command that needs none of them stays quick.
SIMULATORS: dict[str, str] = {
    "mailbox": "simulators.mailbox.service:MailboxSimulator",
    "digipoort": "simulators.digipoort.service:DigipoortSimulator",
    "cbftp": "simulators.cbftp.service:CBSimulator",
    "vies": "simulators.vies.service:ViesSimulator",
    "ccvshop": "simulators.ccvshop.service:CCVShopSimulator",
    "twinfield": "simulators.twinfield.service:TwinfieldSimulator",
    # Last: the hub is our side of the wire, a client of Digipoort, CB and the mailbox started above.
    "hub": "simulators.hub.service:HubService",
}


def simulator_class(name: str) -> type["Simulator"]:
    module_name, _, class_name = SIMULATORS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def settings_for_tests() -> dict[str, dict]:
    """Per simulator: the settings a test or scenario run uses (free ports, no artificial waits)."""
    return {name: simulator_class(name).settings_for_tests() for name in SIMULATORS}


def register_config_sections(names: Iterable[str] | None = None) -> None:
    """Make the config sections of these simulators (default: all) known; each import costs start-up time."""
    for name in SIMULATORS if names is None else names:
        register_section(name, simulator_class(name).config_class)


@dataclass
class Context:
    """What a simulator is handed: it never reaches for globals."""

    config: SimConfig
    clock: Clock
    scheduler: Scheduler
    store: Store
    journal: Journal
    rules: Rules
    random: random.Random
    tls: TLSFiles
    endpoints: list[Endpoint] = field(default_factory=list)  # every listener, once started
    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))


class Simulator:
    """What each counterpart implements. Subclasses set ``name`` and ``config_class``."""

    name = "abstract"
    api_name: str | None = None  # the admin routes live under /api/<api_name>/ (default: name)
    config_class: type = object

    def __init__(self, ctx: Context, config: Any) -> None:
        self.ctx = ctx
        self.config = config

    @classmethod
    def settings_for_tests(cls) -> dict:
        """Config overrides for tests and scenarios: a free port instead of the fixed default."""
        return {"port": 0}

    def credentials(self) -> list[dict]:
        """Test credentials as they are now (accounts can change at run time)."""
        return []

    def join(self, others: dict[str, "Simulator"]) -> None:
        """Meet the other simulators of this runtime, before anything starts. The real counterparts know
        of each other (a shop's ICP customers have VAT numbers VIES knows); a simulator links up here."""

    def recover(self) -> None:
        """Finish work a crash interrupted; runs before any listener accepts a connection."""

    def start(self) -> list[Endpoint]:
        """Bind listeners and start serving; returns what ``/api/endpoints`` lists."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Back to the configured state: seed data only, no traffic, no files. Plan recurring events
        again: a reset of the whole runtime has emptied the scheduler just before."""
        raise NotImplementedError

    def blueprint(self) -> "Blueprint | None":
        """Admin routes under ``/api/<name>/`` (Flask is imported only when the admin API is served)."""
        return None


class Runtime:
    def __init__(self, config: SimConfig, clock: Clock | None = None, only: list[str] | None = None) -> None:
        self.config = config
        # pyftpdlib logs every session and transfer at INFO (too loud unless asked for with `sim -v`),
        # and installs its own stderr handler unless the logger already has one.
        ftp_logger = logging.getLogger("pyftpdlib")
        if not ftp_logger.handlers:
            ftp_logger.addHandler(logging.NullHandler())
        ftp_logger.setLevel(config.log_level.upper())
        state_dir = Path(config.state_dir)
        self._state_lock = StateDirLock(state_dir)
        self._state_lock.acquire()  # before anything is opened: a second instance would corrupt the first
        try:
            self.store = Store(state_dir, config.durability)
        except BaseException:
            self._state_lock.release()
            raise
        self.store.sweep_staging()
        if clock is None:
            clock = durable_clock(config.clock, config.start, self.store)
        self.clock = clock
        self.journal = Journal(state_dir / "journal.db", clock)
        self.scheduler = Scheduler(clock, self.store)
        self.rules = Rules(self.store)
        tls = config.tls
        if tls.cert:
            self.tls = TLSFiles(Path(tls.ca or tls.cert), Path(tls.cert), Path(tls.key or tls.cert))
        else:
            self.tls = ensure_tls(state_dir / "tls")
        self.ctx = Context(config, clock, self.scheduler, self.store, self.journal, self.rules,
                           random.Random(f"{config.seed}/{self._next_generation()}"), self.tls)
        names = only if only is not None else list(SIMULATORS)
        self.simulators: dict[str, Simulator] = {}
        try:
            for name in names:
                cls = simulator_class(name)
                register_section(name, cls.config_class)
                sim = cls(self.ctx, config.section(name))
                if getattr(config.section(name), "enabled", True):
                    self.simulators[name] = sim
        except BaseException:  # a simulator refused its configuration: release what was opened
            self.journal.close()
            self.store.close()
            self._state_lock.release()
            raise
        for sim in self.simulators.values():
            sim.join({name: other for name, other in self.simulators.items() if other is not sim})
        self.endpoints: list[Endpoint] = self.ctx.endpoints  # one list: simulators find each other's listeners
        self.admin = None
        self._started = False

    def _next_generation(self) -> int:
        """How many times this state dir has been started. It is part of the random seed, so a restart
        on the same state does not draw the same references again (a fresh state dir stays repeatable)."""
        self.store.migrate("runtime", "CREATE TABLE IF NOT EXISTS core_state (key TEXT PRIMARY KEY, value TEXT);")
        with self.store.transaction() as db:
            row = db.execute("SELECT value FROM core_state WHERE key = 'generation'").fetchone()
            generation = int(row[0]) + 1 if row else 1
            db.execute("INSERT OR REPLACE INTO core_state (key, value) VALUES ('generation', ?)", (str(generation),))
        return generation

    def start(self, admin: bool = True) -> None:
        if self._started:
            return
        for sim in self.simulators.values():
            sim.recover()
        # Work that fell due while we were down (answers, expiries) fires before anyone connects.
        self.scheduler.run_due()
        for sim in self.simulators.values():
            self.endpoints.extend(sim.start())
        if admin:
            from .admin import AdminServer  # Flask is only needed when the admin API is served

            self.admin = AdminServer(self)
            self.endpoints.insert(0, self.admin.start())
        # Last before ready: work due now (a fresh shop's seed orders, say) would otherwise share the
        # CPU with building the admin app, and /readyz does not wait for it anyway.
        self.scheduler.start()
        self._started = True

    @property
    def ready(self) -> bool:
        return self._started

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.stop()
            self.admin = None
        self.scheduler.stop()
        for sim in self.simulators.values():
            sim.stop()
        self._started = False
        self.journal.close()
        self.store.close()
        self._state_lock.release()

    def reset(self, sim: str | None = None) -> None:
        targets = [self.simulators[sim]] if sim else list(self.simulators.values())
        if sim is None:  # first, so what the simulators plan again in their reset() is kept
            self.scheduler.clear()
            self.journal.clear()
        for target in targets:
            target.reset()
            self.rules.clear(target.name)

    def endpoint(self, name: str) -> Endpoint:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise KeyError(f"no endpoint named {name!r}; have {[e.name for e in self.endpoints]}")

    def __enter__(self) -> "Runtime":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

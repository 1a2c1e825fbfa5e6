"""The CCV Shop -> Twinfield koppeling (seed 003): orders or invoices as concept bookings or invoices,
customers by e-mail, payments as memo bookings matched with the sale, nothing posted twice."""

from .._lazy import lazy_exports

_HOMES = {"ConfigError": ".config", "KoppelingConfig": ".config", "config_from_dict": ".config",
          "load_config": ".config", "CRASH_ENV": ".service", "CRASH_POINTS": ".service", "Koppeling": ".service",
          "KoppelingBusy": ".lock"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)

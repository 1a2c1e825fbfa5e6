"""The communication service: tenants, one communication environment, statuses fed back (SPEC §8)."""

from .._lazy import lazy_exports

_HOMES = {"HubError": ".errors", "RunInProgress": ".errors", "Hub": ".hub", "RunReport": ".run",
          "HubStore": ".store"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)

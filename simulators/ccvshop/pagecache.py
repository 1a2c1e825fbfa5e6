"""Rendered collection pages kept while the data under them is unchanged.

``GET orders/`` renders every order of the page and writes tens of kilobytes of JSON: most of a request's
time, and the same bytes again and again while no order changes. A page is kept per request target (and
base URL and page sizes), stamped with the version of the data it was made from; a request whose version
differs renders afresh. The version is read before the data, so a page made while a change commits is
stamped with the older version and never served once the change is visible.
"""

from __future__ import annotations

import threading
from typing import Callable, Hashable

MAX_PAGES = 256  # distinct queries kept; past that the cache starts over (a client paging through filters)


class PageCache:
    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._pages: dict[Hashable, tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: int, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            kept = self._pages.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        page = render()
        with self._lock:
            if len(self._pages) >= self.max_pages:
                self._pages.clear()
            self._pages[key] = (version, page)
        return page

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()

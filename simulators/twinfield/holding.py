"""An answer held on the simulated clock: what a ``delay`` rule (answer late) and a ``timeout`` rule in mode
``hold`` (keep the connection open, then a 504) do to one request.

The wait is *simulated* time, like every other delay in koppelsim: the request is due at arrival + the rule's
seconds, and a transient event on the scheduler releases it when the clock gets there. Who moves the clock
decides how long that takes in real time:

* ``koppelsim sim`` (system clock): real time does, so the answer comes the stated seconds later - or at once
  when someone moves the clock past the due time (``POST /api/clock``);
* tests (virtual clock): the test does, from another thread, while its client waits (``koppelsim.advance``):
  no real second passes for a simulated one.

A test that forgets to move a virtual clock would hang its client; ``max_hold_seconds`` real seconds bound
every hold, and the journal says when that bound, not the clock, let an answer go.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..core.clock import Clock
from ..core.scheduler import Scheduler


@dataclass
class Held:
    due: datetime
    by_clock: bool  # False: the real-time bound let it go before the clock reached ``due``


def hold(clock: Clock, scheduler: Scheduler, seconds: float, max_real_seconds: float) -> Held:
    """Block the calling (request) thread until the clock reaches now + ``seconds``, or the real bound."""
    due = clock.now() + timedelta(seconds=seconds)
    if seconds <= 0:
        return Held(due, True)
    released = threading.Event()
    event = scheduler.call_at(due, lambda _moment: released.set())
    if clock.now() >= due:  # the clock passed the due time while the event was being planned
        released.set()
    by_clock = released.wait(timeout=max_real_seconds)
    if not by_clock:
        event.cancel()  # nobody moved the clock: do not leave a callback behind for a later jump
    return Held(due, by_clock)

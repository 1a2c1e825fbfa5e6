"""What the HTTP listener tests share: both ways a listener serves its connections."""

from __future__ import annotations

import pytest

# A thread per connection (no ``answer_on_loop``), or one event loop answering every request itself.
SERVING = {"threads": None, "loop": lambda: True}


@pytest.fixture(params=sorted(SERVING))
def serving(request):
    """The listener's ``answer_on_loop`` argument, once for each way of serving."""
    return SERVING[request.param]

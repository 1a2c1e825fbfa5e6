"""WireMock standalone as the HTTP benchmark's reference: static stubs answering with koppelsim's own answers.

The jar comes from the npm package ``wiremock`` (what ``npx wiremock`` runs); bench/install-tools puts it
in ``NPM_PREFIX``. It is started as ``java -jar`` directly (the same thing ``npx wiremock`` does, without npm
in the middle), with its defaults apart from the port, the root folder, the banner and its request journal,
which is off: the reference is WireMock at its fastest. Measured, both other ways were unfit: by default
WireMock keeps every request in memory, and after a few hundred thousand (three targets of 10 s rounds at
5-9k requests/s) its JVM spent its time collecting garbage (9, then 0 requests/s); with the journal bounded
(``--max-request-journal-entries 10000``) every request paid for the bound and it answered ~1.2k/s
instead of 5-9k/s, a reference slower than it should be. koppelsim journals every request, to disk.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .procs import HOST, BenchError, Child, free_port, wait_http_ok

NPM_PREFIX = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "koppelsim" / "bench-npm"
_SEARCHED = (NPM_PREFIX / "node_modules" / "wiremock" / "build",
             Path("node_modules/wiremock/build"))  # a project-local npm install works too

# Headers WireMock writes itself (or must not copy): the rest of koppelsim's answer is copied into the stub.
_OWN_HEADERS = {"content-length", "date", "server", "connection", "transfer-encoding", "keep-alive"}


def find_jar() -> Path | None:
    for folder in _SEARCHED:
        jars = sorted(folder.glob("wiremock-standalone-*.jar")) if folder.is_dir() else []
        if jars:
            return jars[-1]
    return None


def skip_reason() -> str | None:
    """Why WireMock cannot run here, or None."""
    if shutil.which("java") is None:
        return "no java on PATH"
    if find_jar() is None:
        return f"the npm package wiremock is not installed (bench/install-tools puts it in {NPM_PREFIX})"
    return None


def stub_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers of a captured answer that a stub repeats (the server writes the others itself)."""
    return {k: v for k, v in headers.items() if k.lower() not in _OWN_HEADERS}


def write_stub(root: Path, name: str, method: str, url: str, status: int, headers: dict[str, str],
               body: bytes) -> None:
    """One mapping: exactly this method and URL (path and query) answer with this status, headers and body."""
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "__files").mkdir(parents=True, exist_ok=True)
    (root / "__files" / name).write_bytes(body)
    kept = stub_headers(headers)
    mapping = {"request": {"method": method, "url": url},
               "response": {"status": status, "bodyFileName": name, "headers": kept}}
    (root / "mappings" / f"{name}.json").write_text(json.dumps(mapping, indent=1), encoding="utf-8")


class WireMock:
    """A running WireMock standalone serving the stubs under ``root``; ``stop()`` in a finally."""

    def __init__(self, root: Path, log: Path) -> None:
        jar = find_jar()
        if jar is None:
            raise BenchError(skip_reason() or "no WireMock jar")
        self.port = free_port()
        self.child = Child(["java", "-jar", str(jar), "--port", str(self.port), "--bind-address", HOST,
                            "--root-dir", str(root), "--disable-banner", "--no-request-journal"], log)
        try:
            wait_http_ok(self.url("/__admin/health"), self.child, timeout=90.0, interval=0.1)
        except BaseException:
            self.child.stop()
            raise

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    @property
    def pid(self) -> int:
        return self.child.pid

    def stop(self) -> None:
        self.child.stop()

"""wrk for the HTTP benchmark: the two Lua scripts, one run, and its output read back.

Both scripts check every answer (``response()``), so an answer that is fast but wrong counts as a failure,
not as throughput. The same script runs against koppelsim and WireMock: the client's own cost is the same.

* Twinfield: each request is the same SOAP ``ProcessXmlString`` envelope with a new invoice number
  (``<run>-<thread>-<n>``), so every request books a new sales transaction; Twinfield refuses a second
  booking with an invoice number already used in the journal. An answer passes when it is a 200 with
  ``result="1"`` in it.
* CCV Shop: ``GET orders/`` signed as the real API wants (HMAC-SHA512 over ``public|GET|uri||x-date``).
  wrk's LuaJIT has no SHA-512, so the signatures are computed in Python before the run, one per second of
  the run's window, and the script sends the one of the current second: every request carries a fresh,
  correct ``x-date``/``x-hash`` pair, and the simulator verifies it in full, request by request.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .procs import BenchError

WRK = "/usr/bin/wrk"
INVOICE_MARK = "@@INVOICE@@"

_COUNT_FAILURES = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local failed, first = 0, nil
  for _, t in ipairs(threads) do
    failed = failed + t:get("failed")
    first = first or t:get("first_failure")
  end
  io.write(string.format("KOPPELSIM-FAILED %d\n", failed))
  if first then io.write("KOPPELSIM-FIRST-FAILURE " .. first .. "\n") end
end
local function fail(status, body)
  failed = failed + 1
  if not first_failure then first_failure = status .. " " .. string.sub(body or "", 1, 300):gsub("%s+", " ") end
end
"""

TWINFIELD_LUA = _COUNT_FAILURES + r"""
function init(args)
  failed = 0
  prefix = (args[1] or "R") .. "-" .. tid .. "-"
  local f = assert(io.open(os.getenv("KOPPELSIM_BODY"), "rb"))
  local template = f:read("*a")
  f:close()
  local at = assert(string.find(template, "@@INVOICE@@", 1, true))
  head, tail = string.sub(template, 1, at - 1), string.sub(template, at + string.len("@@INVOICE@@"))
  path = os.getenv("KOPPELSIM_PATH")
  headers = {["Content-Type"] = "text/xml; charset=utf-8",
             ["SOAPAction"] = '"http://www.twinfield.com/ProcessXmlString"'}
  n = 0
end
function request()
  n = n + 1
  return wrk.format("POST", path, headers, head .. prefix .. n .. tail)
end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, 'result="1"', 1, true) then fail(status, body) end
end
"""

CCV_LUA = _COUNT_FAILURES + r"""
function init(args)
  failed = 0
  path = os.getenv("KOPPELSIM_PATH")
  public = os.getenv("KOPPELSIM_PUBLIC")
  hashes, fallback = {}, nil
  for date, hash in string.gmatch(os.getenv("KOPPELSIM_SIGNATURES"), "(%S+) (%x+)") do
    hashes[date] = hash
    fallback = fallback or {date, hash}
  end
end
function request()
  local date = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local hash = hashes[date]
  if not hash then date, hash = fallback[1], fallback[2] end
  return wrk.format("GET", path, {["x-public"] = public, ["x-date"] = date, ["x-hash"] = hash})
end
function response(status, headers, body)
  if status ~= 200 then fail(status, body) end
end
"""


@dataclass(frozen=True)
class Load:
    """How wrk is run: the same for every server in one benchmark run."""

    threads: int
    connections: int
    seconds: int


def available() -> bool:
    return os.access(WRK, os.X_OK) or shutil.which("wrk") is not None


def run(url: str, script: Path, env: dict[str, str], load: Load, label: str) -> dict:
    """One wrk run; the figures, or ``BenchError`` when wrk failed or nothing was answered."""
    argv = [WRK if os.access(WRK, os.X_OK) else "wrk", f"-t{load.threads}", f"-c{load.connections}",
            f"-d{load.seconds}s", "--latency", "--timeout", "10s", "-s", str(script), url, "--", label]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env},
                              timeout=load.seconds + 60)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk against {url} did not finish within {load.seconds + 60} s") from None
    if done.returncode != 0 or "Requests/sec" not in done.stdout:
        raise BenchError(f"wrk against {url} failed ({done.returncode}): {done.stderr.strip()[:500]}"
                         f"{done.stdout.strip()[:500]}")
    return parse(done.stdout)


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse(text: str) -> dict:
    """The figures of wrk's ``--latency`` report (and of the scripts' ``done()``)."""
    rate, count = re.search(r"Requests/sec:\s+([\d.]+)", text), re.search(r"(\d+) requests in", text)
    if rate is None or count is None:
        raise BenchError(f"wrk printed no request figures:\n{text[:500]}")
    figures: dict = {"requests_per_second": float(rate.group(1)), "requests": int(count.group(1))}
    for pct in ("50", "90", "99"):
        found = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", text, re.M)
        figures[f"p{pct}_ms"] = _ms(found.group(1)) if found else None
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    figures["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                        (int(x) for x in errors.groups()))) if errors else {}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    figures["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    failed = re.search(r"KOPPELSIM-FAILED (\d+)", text)
    figures["failed_answers"] = int(failed.group(1)) if failed else None
    first = re.search(r"KOPPELSIM-FIRST-FAILURE (.*)", text)
    figures["first_failure"] = first.group(1)[:300] if first else None
    return figures

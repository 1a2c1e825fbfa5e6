"""``python -m bench --only koppeling`` (issue 4, "Speed"): end-to-end sync of 1,000 generated shop orders
with their payments through the koppeling: orders/s and peak memory. Never a timed assertion.

``koppelsim sim`` runs CCV Shop (1,000 generated orders: NL and EU customers, B2C and B2B, every payment
method, ~70 % paid), Twinfield and VIES in a process of its own; the koppeling is the real client
(``clients.koppeling``) in this process, over real sockets, as ``koppelsim koppeling sync`` and
``payments`` run it. Printed: the sync (orders read, checked, customers found or created, bookings posted)
and the payment run (memo bookings and matches), each as wall time and items/s, the Errors count by check
(the generated shop has orders the default mapping cannot post: e.g. another EU country's own VAT rate
without a Twinfield code, as in a real first run), and the peak memory of the koppeling (this process)
and of the simulators.

Settings that differ from the defaults, and why: the fair-use limits of CCV Shop (150 GETs a minute) and
Twinfield (1000 credits a minute) are raised out of reach, as in the HTTP benchmark: with the real limits
the koppeling spends most of the run waiting out ``Retry-After`` (which it does, see the scenarios).
"""

from __future__ import annotations

import resource
import time
from collections import Counter
from pathlib import Path
from typing import Callable

from .http_sim import shop_keys, wait_for_orders
from .procs import HOST, RSSSampler, free_port, spawn_sim

ORDERS = 1000
UNLIMITED = 1_000_000_000
PAYMETHOD_IDS = ("3", "5", "6", "11", "12", "13", "14")  # every payment method of the generated shop
SUSPENSE = "2000"  # [CHOSEN] one suspense account for every payment method (seed 003 allows one per method)


def run(orders: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    from clients.clock import RealClock
    from clients.koppeling import Koppeling, config_from_dict

    workdir.mkdir(parents=True, exist_ok=True)
    sim = _start(workdir, orders, progress)
    sampler = RSSSampler(sim["child"].pid).start()
    koppeling = None
    try:
        config = config_from_dict({
            "office": "NLA000001",
            "twinfield": {"login_url": sim["twinfield"], "password": "koppeling-secret"},
            "shop": {"api_root": sim["ccvshop"], "public_key": sim["public_key"], "secret_key": sim["secret_key"]},
            "vies_url": sim["vies"], "payment_posting": True,
            "paymethods": {pid: {"suspense": SUSPENSE} for pid in PAYMETHOD_IDS}})
        rss_before = _peak_rss()
        started = time.perf_counter()
        koppeling = Koppeling.open(config, workdir / "koppeling.db", RealClock())
        connected = time.perf_counter()
        progress(f"koppeling: connected in {connected - started:.2f} s; sync of {orders} orders")
        synced_counts = koppeling.sync()
        synced = time.perf_counter()
        progress(f"koppeling: sync {synced_counts} in {synced - connected:.1f} s; payment run")
        payment_counts = koppeling.payments()
        paid = time.perf_counter()
        errors = Counter(e["check"] for e in koppeling.errors())
        posted = len(koppeling.reporting())
        sampler.stop()
        sync_s, payments_s = synced - connected, paid - synced
        handled = synced_counts["posted"] + synced_counts["errors"]
        return {
            "orders": orders, "sync": synced_counts, "payments": payment_counts, "posted": posted,
            "errors_by_check": dict(errors), "connect_s": round(connected - started, 3),
            "sync_s": round(sync_s, 3), "orders_per_s": round(handled / sync_s, 1) if sync_s else None,
            "payments_s": round(payments_s, 3),
            "payments_per_s": round(sum(payment_counts.values()) / payments_s, 1) if payments_s else None,
            "total_s": round(paid - connected, 3),
            "koppeling_peak_rss_mb": round(_peak_rss() / 2**20, 1),
            "koppeling_rss_before_mb": round(rss_before / 2**20, 1),
            "simulators_peak_rss_mb": round(sampler.peak / 2**20, 1),
            "simulators_cpu_s": round(sampler.cpu_seconds(), 1),
        }
    finally:
        sampler.stop()
        if koppeling is not None:
            koppeling.close()
        sim["child"].stop()


def describe(result: dict) -> str:
    return (f"koppeling: {result['orders']} generated orders synced in {result['sync_s']:.1f} s = "
            f"{result['orders_per_s']} orders/s ({result['posted']} posted, errors by check "
            f"{result['errors_by_check'] or 'none'}); payment run {result['payments']} in {result['payments_s']:.1f} s; "
            f"peak memory koppeling {result['koppeling_peak_rss_mb']} MB, simulators "
            f"{result['simulators_peak_rss_mb']} MB")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _start(workdir: Path, orders: int, progress: Callable[[str], None]) -> dict:
    admin, twinfield, ccv, vies = free_port(), free_port(), free_port(), free_port()
    config = {
        "host": HOST, "admin_port": admin,
        "twinfield": {"port": twinfield, "rate_limit_per_ip": UNLIMITED, "rate_limit_per_client": UNLIMITED},
        "ccvshop": {"port": ccv, "get_per_minute": UNLIMITED, "write_per_minute": UNLIMITED,
                    "seed_orders": orders},
        "vies": {"port": vies},
        **{name: {"enabled": False} for name in ("digipoort", "cbftp", "mailbox", "hub")},
    }
    child = spawn_sim(workdir, "koppelsim", config)
    try:
        progress(f"koppeling: waiting for the shop's {orders} generated orders")
        wait_for_orders(admin, child, orders, timeout=600)
        public_key, secret_key = shop_keys(admin)
    except BaseException:
        child.stop()
        raise
    return {"child": child, "twinfield": f"http://{HOST}:{twinfield}", "ccvshop": f"http://{HOST}:{ccv}",
            "vies": f"http://{HOST}:{vies}", "public_key": public_key, "secret_key": secret_key}

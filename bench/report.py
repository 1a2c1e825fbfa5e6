"""The results: a table for people (stdout) and JSON for tools (``bench/results/latest.json``)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from .http_report import rows as http_rows
from .procs import REPO

RESULTS = Path(__file__).resolve().parent / "results"
HEADERS = ("measure", "koppelsim", "reference", "ratio", "goal")
UPLOAD_RATIO_GOAL = 1.5  # koppelsim may take at most 1.5x the bare server's time for the same uploads


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def _mb(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 2**20:.0f} MB"


def _goal(met: bool, text: str) -> str:
    return f"{text} {'met' if met else 'MISSED'}"


def rows(results: dict) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    if (st := results.get("startup")) is not None:
        goal, bare = st["goal_seconds"], st["bare_flask"]
        for key, label in (("fresh", "fresh state dir"), ("existing", "existing state dir"),
                           ("digipoort_only", "--only digipoort, existing state dir")):
            if key not in st:
                continue
            fig = st[key]
            out.append((f"start-up to /readyz 200, {label} (median of {len(fig['runs'])})", _s(fig["median"]),
                        f"bare Flask {_s(bare['median'])}", f"{st[f'ratio_{key}']:.2f}x",
                        _goal(fig["median"] <= goal, f"<= {goal:.2f} s")))
            out.append((f"start-up, {label} (min)", _s(fig["min"]), f"bare Flask {_s(bare['min'])}",
                        f"{fig['min'] / bare['min']:.2f}x", ""))
    if (tp := results.get("throughput")) is not None:
        ref = results.get("reference")
        n, c = tp["submissions"], tp["clients"]
        ratio = tp["upload_seconds"] / ref["upload_seconds"] if ref else None
        out.append((f"uploads only: {n} x (data+meta) from {c} FTPS clients",
                    f"{_s(tp['upload_seconds'])} = {tp['uploads_per_second']:.0f}/s",
                    f"bare pyftpdlib {_s(ref['upload_seconds'])} = {ref['uploads_per_second']:.0f}/s" if ref else "n/a",
                    f"{ratio:.2f}x" if ratio else "", _goal(ratio <= UPLOAD_RATIO_GOAL, "<= 1.5x") if ratio else ""))
        if ref and len(ref.get("upload_seconds_each", [])) > 1:
            out.append(("  bare pyftpdlib, run before / after koppelsim", "",
                        " / ".join(_s(v) for v in ref["upload_seconds_each"]), "", "mean used above"))
        if tp.get("upload_rate_by_tenth"):
            curve = tp["upload_rate_by_tenth"]
            out.append(("  upload rate, first / last tenth of the phase", f"{curve[0]:.0f}/s -> {curve[-1]:.0f}/s",
                        "", "", "flat is good"))
        ph = tp["phases"]
        out.append(("upload + collect .ok (download+delete)",
                    f"{_s(tp['upload_ok_seconds'])} = {tp['upload_ok_per_second']:.0f}/s", "", "", ""))
        out.append(("POST /api/clock advance 2h", _s(ph["advance"]["seconds"]), "", "", ""))
        written = tp.get("answers_written_seconds")
        out.append(("  every answer written (server side, from the jump)", _s(written) if written else "n/a",
                    f"{n / written:.0f} answers/s" if written else "", "", ""))
        out.append(("collect answers (after the jump)", _s(ph["collect_answers"]["seconds"]),
                    f"{tp['listings']['answers']} listings of OUT", "", ""))
        out.append(("full dialogue, total wall (connect..answers)",
                    f"{_s(tp['total_seconds'])} = {tp['dialogue_per_second']:.0f}/s", "", "", ""))
        out.append(("simulator CPU during uploads (% of one core)", f"{ph['upload']['server_cpu_percent']:.0f} %",
                    f"bare {ref['phases']['upload']['server_cpu_percent']:.0f} %" if ref else "", "", ""))
        out.append(("benchmark clients' CPU during uploads", f"{ph['upload']['client_cpu_percent']:.0f} %",
                    f"bare {ref['phases']['upload']['client_cpu_percent']:.0f} %" if ref else "", "",
                    f"{os.cpu_count()} cores"))
        out.append(("simulator peak RSS (psutil 50 ms / VmHWM)",
                    f"{_mb(tp['rss_peak_sampled_bytes'])} / {_mb(tp['rss_peak_hwm_bytes'])}",
                    f"bare {_mb(ref['rss_peak_sampled_bytes'])} / {_mb(ref['rss_peak_hwm_bytes'])}" if ref else "",
                    "", f"idle {_mb(tp['rss_idle_bytes'])}"))
        out.append(("answered exactly once", "yes" if tp["answered_exactly_once"] else "NO", "", "", ""))
    if (sc := results.get("scenarios")) is not None:
        sub, inp = sc["subprocess"], sc["in_process"]
        if sub is not None:
            out.append(("scenarios/digipoort, `python -m simulators run` wall", _s(sub["wall_seconds"]),
                        f"{sub['passed']} passed, {sub['failed']} failed, {sub['errors']} errors", "", ""))
        out.append((f"scenarios in-process ({inp['passed']}/{inp['count']} passed), sum of runs",
                    _s(inp["scenario_seconds"]), f"{inp['simulated_seconds'] / 3600:.1f} h simulated",
                    f"{inp['simulated_per_real']:.0f}x", "sim/real"))
        for row in inp["slowest"]:
            out.append((f"  slowest: {row['file']}", _s(row["seconds"]),
                        f"{row['simulated_seconds'] / 3600:.1f} h simulated", "", row["status"]))
    out.extend(_cb_rows(results))
    out.extend(http_rows(results))
    return out


def _cb_rows(results: dict) -> list[tuple[str, ...]]:
    """The CB part (bench/cb.py): (a) big transfers, (b) one session, (c) many clients, (d) UBL validation."""
    out: list[tuple[str, ...]] = []
    if (tr := results.get("cb_transfer")) is not None:
        servers, goal = tr["servers"], tr["goal_ratio"]
        for direction in ("download", "upload"):
            rate = servers["CB"][direction]["mb_per_second"]
            bare = servers["bare pyftpdlib"][direction]["mb_per_second"]
            ratio = tr[f"{direction}_ratio"]
            out.append((f"CB: FTPS {direction} of {_mb(tr['file_bytes'])} with curl (median of {tr['runs']})",
                        f"{rate:.0f} MB/s", f"bare pyftpdlib {bare:.0f} MB/s", f"{ratio:.2f}x",
                        _goal(ratio >= goal, f">= {goal}x")))
            if "vsftpd" in servers:
                other = servers["vsftpd"][direction]["mb_per_second"]
                out.append(("  same, against vsftpd", "", f"vsftpd {other:.0f} MB/s", f"{rate / other:.2f}x", ""))
        if tr["vsftpd_skipped"]:
            out.append(("  against vsftpd", "", tr["vsftpd_skipped"], "", "skipped"))
        out.append(("  CB simulator peak RSS during the transfers (psutil / VmHWM)",
                    f"{_mb(tr['cb_rss_peak_sampled_bytes'])} / {_mb(tr['cb_rss_peak_hwm_bytes'])}", "", "",
                    f"mode {tr['cb_mode']}"))
    if (se := results.get("cb_sessions")) is not None:
        for kind, label, goal in (("binary_1k", "1 KB .zip, binary", se["goal_ratio"]),
                                  ("order_1k", "1 KB OPDNAW order .txt, ASCII (CB checks it, writes a receipt)", None)):
            fig = se[kind]
            head = (f"CB: session connect+TLS+login+{label}+QUIT, ftplib (mean of {se['sessions']})"
                    if goal else f"  same with a {label}")
            out.append((head, f"{fig['cb_mean_ms']:.1f} ms", f"bare pyftpdlib {fig['bare_mean_ms']:.1f} ms",
                        f"{fig['ratio']:.2f}x", _goal(fig["ratio"] <= goal, f"<= {goal}x") if goal else
                        f"medians {fig['cb_median_ms']:.1f} / {fig['bare_median_ms']:.1f} ms"))
    if (cr := results.get("cb_crowd")) is not None:
        n = cr["clients"]
        out.append((f"CB: {n} clients at once, each login + download its invoice .xml",
                    f"{_s(cr['wall_seconds'])} wall",
                    f"{cr['succeeded']}/{n} succeeded", "", _goal(cr["all_succeeded"], "all succeed")))
        peak = max(cr["rss_peak_sampled_bytes"], cr["rss_peak_hwm_bytes"] or 0)
        out.append(("  simulator peak RSS (psutil 50 ms / VmHWM)",
                    f"{_mb(cr['rss_peak_sampled_bytes'])} / {_mb(cr['rss_peak_hwm_bytes'])}",
                    f"idle {_mb(cr['rss_idle_bytes'])}, after set-up {_mb(cr['rss_after_setup_bytes'])}", "",
                    _goal(peak <= cr["goal_rss_bytes"], f"<= {_mb(cr['goal_rss_bytes'])}")))
        out.append((f"  set-up via the admin API: {n} accounts / {n} invoices",
                    f"{_s(cr['accounts_seconds'])} / {_s(cr['invoices_seconds'])}",
                    f"{cr['invoice_ms_each']:.0f} ms per invoice", "", ""))
    if (ubl := results.get("cb_ubl")) is not None:
        if "skipped" in ubl:
            out.append(("CB: UBL 2.1 validation per invoice", "skipped", ubl["skipped"], "", ""))
        else:
            out.append((f"CB: UBL 2.1 validation per invoice, schema prebuilt (mean of {ubl['invoices']})",
                        f"{ubl['mean_ms']:.3f} ms",
                        f"schema built once in {1000 * ubl['schema_build_seconds']:.0f} ms",
                        "", _goal(ubl["mean_ms"] <= ubl["goal_ms"], f"<= {ubl['goal_ms']:g} ms")))
    return out


def notes(results: dict) -> list[str]:
    """What the table cannot say in a cell: skipped references, how CB was run, why clients failed."""
    lines = []
    if (tr := results.get("cb_transfer")) is not None:
        if tr["vsftpd_skipped"]:
            lines.append(tr["vsftpd_skipped"])
        lines.append("CB transfers: cbftp.mode report (curl logs in once per command); sessions and clients: "
                     "enforce, one account per login")
    if (cr := results.get("cb_crowd")) is not None and cr["failures"]:
        lines.append(f"CB clients that failed ({cr['clients'] - cr['succeeded']}): "
                     + "; ".join(f"{count} x {reason}" for reason, count in cr["failures"].items())
                     + (f" (kernel listen-queue overflows meanwhile: {cr['listen_overflows']})"
                        if cr.get("listen_overflows") is not None else "")
                     + (f"; the last successful client was done after {cr['last_success_seconds']:.2f} s"
                        if cr.get("last_success_seconds") is not None else ""))
    return lines


def load_note(results: dict) -> str:
    """One line on how busy the machine was: figures taken under load are slower and noisier."""
    loads = results.get("load_average", {})
    if not loads:
        return ""
    cores = os.cpu_count() or 1
    highest = max(max(pair) for pair in loads.values())
    shown = ", ".join(f"{part} {a:.1f}->{b:.1f}" for part, (a, b) in loads.items())
    verdict = "busy: other work shared the CPUs, figures are noisy" if highest > cores else "quiet enough"
    return f"\nmachine: {cores} cores; 1-min load average {shown} ({verdict})"


def table(lines: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [HEADERS, *lines]) for i in range(len(HEADERS))]
    fmt = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(HEADERS), rule, *(fmt(r) for r in lines)])


def environment() -> dict:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    try:  # read-only: which commit these figures belong to
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "commit": commit, "packages": {p: version(p) for p in ("pyftpdlib", "Flask", "Werkzeug", "pyOpenSSL")}}


def write_json(results: dict, path: Path = RESULTS / "latest.json") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return path

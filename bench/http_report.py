"""The HTTP benchmark's rows in the bench table (bench/report.py); the figures come from bench/http.py."""

from __future__ import annotations

LABELS = {"twinfield": "Twinfield ProcessXmlString, new sales transaction each",
          "ccvshop": "CCV Shop GET orders/ (25 orders, HMAC checked)",
          "static": "the same Twinfield answer as a static stub on koppelsim's listener (serving stack alone)"}
GOALLESS = {"static"}  # a reference pair: it shows how much of the Twinfield ratio the serving stack explains


def rows(results: dict) -> list[tuple[str, ...]]:
    """Rows for bench/report.py's table."""
    if (http := results.get("http")) is None:
        return []
    wrk = http["wrk"]
    out = []
    for target, fig in http["targets"].items():
        ours, ref = fig["koppelsim"], fig["wiremock"]
        ok = fig["ratio"] >= http["goal_ratio"] and not ours["failed_answers"]
        verdict = "reference, no goal" if target in GOALLESS else \
            f">= {http['goal_ratio']:.1f}x {'met' if ok else 'MISSED'}"
        out.append((f"HTTP: {LABELS[target]}, wrk -t{wrk['threads']} -c{wrk['connections']} "
                    f"{wrk['seconds']} s x {http['rounds']}",
                    f"{ours['requests_per_second']:.0f} req/s", f"WireMock {ref['requests_per_second']:.0f} req/s",
                    f"{fig['ratio']:.2f}x", verdict))
        if len(fig["round_ratios"]) > 1:
            out.append(("  ratio per round (koppelsim / WireMock in the same round)", "", "",
                        " ".join(f"{r:.2f}" for r in fig["round_ratios"]), "median used above"))
        out.append(("  p99 latency / p50", f"{ours['p99_ms']:.1f} / {ours['p50_ms']:.1f} ms",
                    f"WireMock {ref['p99_ms']:.1f} / {ref['p50_ms']:.1f} ms",
                    f"{fig['p99_ratio']:.2f}x" if fig["p99_ratio"] else "", "p99: lower is better"))
        loads = [r["load_average"][0] for server in ("koppelsim", "wiremock") for r in fig[server]["runs"]]
        out.append(("  wrong answers / socket errors; 1-min load during the runs",
                    f"{ours['failed_answers']} / {ours['socket_errors']}",
                    f"WireMock {ref['failed_answers']} / {ref['socket_errors']}", "",
                    f"load {min(loads):.1f}-{max(loads):.1f}"))
    return out

"""koppelsim benchmarks (``make bench`` = ``python -m bench``): figures and ratios, never pass/fail tests.

Every figure is printed next to a reference measured in the same run on the same machine (a bare
Flask app, a bare pyftpdlib FTPS server), because absolute numbers from a shared CI box or a laptop
mean little on their own; the ratio is what a change should move.

Modules, one idea each:
  procs       child processes, free ports, readiness polling, RSS sampling
  startup     `koppelsim sim` to its first 200 on /readyz, against a bare Flask app
  ftps        the FTPS client harness shared by every FTP measurement (so comparisons are fair)
  workload    the submissions (data file + meta file) the clients upload
  throughput  the full Digipoort dialogue against `koppelsim sim`, with an exactly-once check
  reference   the same uploads against a bare pyftpdlib TLS server (bare_ftp_server, a subprocess)
  scenarios   the YAML scenarios: wall time and simulated/real time
  report      the table on stdout and bench/results/latest.json
"""

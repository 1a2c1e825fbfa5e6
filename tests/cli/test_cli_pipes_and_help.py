"""The command line as a shell uses it: output piped into a reader that stops early, and the help text."""

from __future__ import annotations

import subprocess
import sys


def test_schema_piped_into_a_reader_that_stops_early_ends_quietly():
    writer = subprocess.Popen([sys.executable, "-m", "simulators", "schema"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    writer.stdout.readline()  # `| head -1`: read a line, then go away
    writer.stdout.close()
    stderr = writer.stderr.read()
    assert writer.wait(30) == 0
    assert b"Traceback" not in stderr and b"BrokenPipeError" not in stderr, stderr.decode()


def test_help_names_the_command_without_markup():
    shown = subprocess.run([sys.executable, "-m", "simulators", "--help"], capture_output=True, text=True, timeout=30)
    assert "koppelsim — one command" in shown.stdout and "``" not in shown.stdout

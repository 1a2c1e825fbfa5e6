"""pytest collects every ``scenarios/**/*.yaml`` as a test: ``pytest -n auto`` runs them in parallel."""

from simulators.scenario.pytest_collect import collect_scenario_file


def pytest_collect_file(parent, file_path):
    return collect_scenario_file(parent, file_path)

# `pytester` lets a test run a small pytest session of its own (the plugin test uses it).
pytest_plugins = ["pytester"]

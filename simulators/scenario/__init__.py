"""Scenario files: the vocabulary simulators register, the loader, and run reports.

The runner that executes steps lives elsewhere and uses this API; see ``loader`` for the file
format's reading rules and ``vocabulary`` for how a simulator adds its words.
"""

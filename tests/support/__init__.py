"""Helpers of the test suite (no fixtures here: tests/conftest.py holds those and calls these modules).

processes: child processes (workers, beat, a web server) on the test database; swarm: the shared local swarm;
stack: a whole stack of a test's own; browser: headless Chromium; faults: fault tests' tools; receivers: loopback
HTTP / SMTP receivers; snapshots and alerting: typed crawl values and alert rows; wide_pages: stored rows full of
long strings for the layout tests; markers: markers from fixtures;
session_redis: the pytest plugin that starts the session's Redis.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project's root: children run here, tests read its files

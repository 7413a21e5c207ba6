"""Markers that follow from the fixtures a test uses (so `-m "not swarm"` picks the fast tests without anyone
remembering a mark), and the order tests run in."""

from __future__ import annotations

# A test whose fixture closure (its fixtures, theirs, and so on) holds one of these gets the marker. Every marker
# is declared in pytest.ini.
FIXTURE_MARKERS = {
    "local_swarm": "swarm",  # the shared real local swarm (swarm_peers, quiet_swarm, probe_sources, ... use it)
    "browser": "browser",  # headless Chromium
    "celery_worker_process": "worker",  # a real Celery worker process
    "probe_worker_process": "worker",
}


def derived_markers(item) -> list[str]:
    """The markers this test's fixture closure calls for."""
    closure = set(getattr(item, "fixturenames", ()))
    return sorted({marker for fixture, marker in FIXTURE_MARKERS.items() if fixture in closure})


def mark_from_fixtures(item) -> None:
    for name in derived_markers(item):
        if item.get_closest_marker(name) is None:
            item.add_marker(name)


def run_order(item) -> int:
    """Tests that start a whole stack of their own run first, before the shared swarm takes the CPU; tests whose
    records outlive them in the shared swarm's DHT (a crowd of dead servers, hostile values) run last."""
    if item.get_closest_marker("own_stack"):
        return 0
    return 2 if item.get_closest_marker("lingering_records") else 1

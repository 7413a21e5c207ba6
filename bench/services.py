"""The services benchmarks use besides what they start themselves: PostgreSQL and Redis (BENCH_POSTGRES_URL and
BENCH_REDIS_URL, by default this machine's), and scratch databases that a benchmark creates and drops."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager, suppress
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
BACKENDS = ("sqlite", "postgresql")


def redis_url(db: int) -> str:
    """A benchmark's own Redis database: only that one is ever flushed."""
    return f"{REDIS_BASE_URL.rstrip('/')}/{db}"


def postgres_url(name: str) -> str:
    parts = urlsplit(POSTGRES_ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def run_admin(*statements: str, deadline_s: float = 120.0) -> None:
    """Runs statements on the maintenance database; waits (up to `deadline_s`) while the server has no free
    connection slot, which other programs on a shared server can use up for a while."""
    import psycopg

    give_up = time.monotonic() + deadline_s
    while True:
        try:
            admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
            break
        except psycopg.OperationalError as error:
            if "too many clients" not in str(error) or time.monotonic() > give_up:
                raise
            time.sleep(1.0)
    with admin:
        for statement in statements:
            admin.execute(statement)


@contextmanager
def scratch_database(backend: str, postgres_name: str) -> Iterator[dict[str, str]]:
    """The environment (VAR_DIR, and DATABASE_URL for PostgreSQL) of a new, empty database of `backend`: SQLite
    under a temporary VAR_DIR, or the PostgreSQL database `postgres_name`; dropped on exit."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown database backend {backend!r} (expected one of {', '.join(BACKENDS)})")
    var_dir = tempfile.mkdtemp(prefix=f"{postgres_name}-var-")
    env = {"VAR_DIR": var_dir}
    try:
        if backend == "postgresql":
            run_admin(f'DROP DATABASE IF EXISTS "{postgres_name}" WITH (FORCE)', f'CREATE DATABASE "{postgres_name}"')
            env["DATABASE_URL"] = postgres_url(postgres_name)
        yield env
    finally:
        if backend == "postgresql":
            with suppress(Exception):  # this process's own connections, when Django used the database here
                from django.db import connections

                connections.close_all()
            run_admin(f'DROP DATABASE IF EXISTS "{postgres_name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)

"""Measures how many bytes of HTML the public pages send as swarms grow: a model page with 100 and with 1,000
servers on one model, and the overview with 10 models x 100 servers, plain and gzipped, against issue 17's targets
(a model page at most 150 KB at 100 servers and 400 KB at 1,000; KB = 1,000 bytes, uncompressed, 80 blocks).

Each case gets a fresh scratch SQLite database (under a temporary VAR_DIR) and an embedded Redis of its own, holding
two stored crawls of a synthetic swarm (swarm.localswarm.synthetic; the second flips 20 servers' states, so there is
history and there are state changes); each page is rendered through Django's test client with DEBUG off.
From the repository root: .venv/bin/python -m bench.page_sizes [--quick]  (--quick: prints, writes nothing)
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from bench.report import PROJECT_ROOT, preamble, write_section

SECTION = "page-sizes"
BLOCKS = 80
CRAWLS, CHANGED = 2, 20


@dataclass(frozen=True)
class Case:
    label: str
    servers: int
    models: int
    path: str
    target_kb: Optional[int]  # uncompressed, KB = 1,000 bytes


CASES = (
    Case("model page, 100 servers", 100, 1, "/models/sizes-0/", 150),
    Case("model page, 1,000 servers", 1000, 1, "/models/sizes-0/", 400),
    Case("coverage fragment, 1,000 servers", 1000, 1, "/models/sizes-0/?fragment=coverage", None),
    Case("overview, 10 models x 100 servers", 1000, 10, "/", None),
)
# what issue 17 reported of the model pages before this change
ISSUE_BEFORE = "650 KiB for ~60 servers, 1.1 MB for 100, more than 10 MB for 1,000"


def measure_case(case: Case) -> dict:
    """Runs one case in a child process of its own (a fresh Django on a fresh database); returns its sizes."""
    var_dir = tempfile.mkdtemp(prefix="bench-page-sizes-")
    try:
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
        env.update(VAR_DIR=var_dir, DEBUG="0", LOG_LEVEL="WARNING", PAGE_CACHE_SECONDS="0",
                   ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="config.settings")
        argv = [sys.executable, "-m", "bench.page_sizes", "--child", str(case.servers), str(case.models), case.path]
        done = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"{case.label} failed:\n{done.stderr[-3000:]}")
        plain, zipped, seconds = (float(value) for value in done.stdout.split()[-3:])
        return {"plain": int(plain), "gzip": int(zipped), "seconds": seconds}
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def child(servers: int, models: int, path: str) -> None:
    """In the child: an embedded Redis, a migrated database, the stored crawls, then one rendering of `path`;
    prints its plain and gzipped sizes and the seconds the rendering took."""
    from explorer.embedded_redis import EmbeddedRedis
    from swarm.localswarm.processes import free_port

    redis = EmbeddedRedis(free_port(), Path(os.environ["VAR_DIR"]) / "redis").start()
    try:
        os.environ["REDIS_URL"] = redis.url
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        store(servers, models)
        from django.test import Client

        started = time.perf_counter()
        response = Client().get(path)
        took = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        body = response.content
        print(len(body), len(gzip.compress(body, compresslevel=6)), f"{took:.3f}")
    finally:
        redis.stop()


def store(servers: int, models: int) -> None:
    from bench.web_stack import with_flipped_states
    from explorer.crawls.ingest import store_crawl
    from swarm.localswarm.synthetic import make_swarm

    swarm = make_swarm(servers, models=models, num_blocks=BLOCKS, prefix="sizes")
    now = time.time()
    for index in range(CRAWLS):
        if index:
            swarm = with_flipped_states(swarm, CHANGED, offset=index)
        store_crawl(swarm.snapshot(at=now - 30 * (CRAWLS - 1 - index)))


def kb(size: int) -> str:
    return f"{size / 1000:,.1f} KB"


def verdict(case: Case, plain: int) -> str:
    if case.target_kb is None:
        return "no target"
    return (f"met (≤ {case.target_kb} KB)" if plain <= case.target_kb * 1000
            else f"missed by {kb(plain - case.target_kb * 1000)}")


def table(results: list[tuple[Case, dict]]) -> str:
    lines = ["| page | path | HTML | gzipped (level 6) | per server | before: HTML / gzipped | target |",
             "|---|---|---|---|---|---|---|"]
    for case, sizes in results:
        before = BEFORE.get(case.label)
        lines.append(f"| {case.label} | `{case.path}` | {kb(sizes['plain'])} | {kb(sizes['gzip'])} | "
                     f"{sizes['plain'] / case.servers:,.0f} B | "
                     f"{f'{kb(before[0])} / {kb(before[1])}' if before else '–'} | {verdict(case, sizes['plain'])} |")
    return "\n".join(lines)


# The same bench on the committed tree before this change (2026-12-02, this machine: `git archive HEAD` exported to
# another folder, this file copied in and run there): label -> (plain, gzipped) bytes
BEFORE: dict[str, tuple[int, int]] = {
    "model page, 100 servers": (1_079_400, 50_400),
    "model page, 1,000 servers": (10_541_700, 465_300),
    "coverage fragment, 1,000 servers": (9_891_000, 346_500),
    "overview, 10 models x 100 servers": (79_000, 6_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the 100-server model page only; writes nothing")
    parser.add_argument("--child", nargs=3, metavar=("SERVERS", "MODELS", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2])
        return
    cases = CASES[:1] if args.quick else CASES
    results = []
    for case in cases:
        sizes = measure_case(case)
        print(f"{case.label}: {kb(sizes['plain'])} plain, {kb(sizes['gzip'])} gzipped, "
              f"rendered in {sizes['seconds']:.2f} s", flush=True)
        results.append((case, sizes))
    if args.quick:
        return
    missed = [case.label for case, sizes in results if verdict(case, sizes["plain"]).startswith("missed")]
    outcome = f"Missed: {', '.join(missed)}." if missed else "Both model-page targets are met."
    body = "\n\n".join([
        "## Page sizes (issue 17)",
        preamble("python -m bench.page_sizes",
                 "a fresh SQLite database and embedded Redis per page, two stored crawls of a synthetic swarm of "
                 f"{BLOCKS}-block models, each page rendered once through Django's test client, DEBUG off").rstrip(),
        table(results),
        ("The coverage map draws one bar per server and the server table sends its first 50 rows (the rest are "
         "pages of their own: ?page=, ?state=, ?name=, ?version=, ?sort=), so a model page grows by the bytes of "
         "one map row per server. " + outcome),
        ("Before: the same bench on the tree before this change (one table cell per server per block in the map, "
         f"every server in the table); issue 17 measured {ISSUE_BEFORE} on its swarms."),
    ])
    write_section(SECTION, body)


if __name__ == "__main__":
    main()

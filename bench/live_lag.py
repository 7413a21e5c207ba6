"""Measures the end-to-end lag from a server stopping on a local swarm to its coverage cells changing in an open page.

Starts a local swarm (an anchor server and a victim on the tiny Llama), the whole stack (`manage.py runstack`: Granian,
the Celery workers, one beat) with a short CRAWL_INTERVAL on SQLite under a temporary VAR_DIR and Redis DB 13, and a
headless Chromium on the model page; then stops the victim (gracefully, and with SIGKILL), times each step up to the
page, and restarts it. From the repository root: .venv/bin/python -m bench.live_lag
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from statistics import mean
from typing import Optional

import redis

from bench import services
from bench.live_browser import CellChange, LivePage
from bench.report import PROJECT_ROOT, preamble, write_section
from bench.web_stack import stop_runstack
from swarm.localswarm.launcher import LocalSwarm, ServerPlan
from swarm.localswarm.processes import free_port, wait_until
from swarm.localswarm.tiny_models import TINY_LLAMA

REDIS_DB = 13
ANCHOR = ServerPlan("anchor", TINY_LLAMA, "tiny-llama", 0, 6)
VICTIM = ServerPlan("victim", TINY_LLAMA, "tiny-llama", 0, 3)
# the worker logs "crawl <id>: ..." after store_crawl returned, i.e. after the commit and the delta's publish
# (config/settings.py's LOGGING format: "%(asctime)s %(levelname)s %(name)s: %(message)s", local time with ms)
CRAWL_LOG = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO explorer\.crawling: crawl (\d+): ", re.M)


class Stack:
    """`manage.py runstack` (web server, Celery workers, one beat) as a child process; always stopped."""

    def __init__(self, var_dir: Path, env: dict[str, str]):
        self.port = free_port()
        var_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = var_dir / "stack.log"
        child_env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        child_env.update(VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **env)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runstack", "--port", str(self.port)], cwd=PROJECT_ROOT,
                env=child_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"the stack exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def crawls_logged(self) -> dict[int, float]:
        """Crawl id -> unix time at which the worker logged it as stored (and its delta published)."""
        text = self.log_path.read_text(errors="replace")
        return {int(crawl): datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
                for stamp, crawl in CRAWL_LOG.findall(text)}

    def stop(self) -> None:
        stop_runstack(self.process)


@dataclass
class StopResult:
    mode: str  # "graceful" or "kill"
    stopped_at: float  # the signal was sent
    exited_at: float  # the victim's process (and its children) were gone
    changed: CellChange  # the first change of the victim's cells in the page
    crawl_id: Optional[int] = None
    crawl_started_at: Optional[float] = None
    crawl_duration_s: Optional[float] = None
    phase: float = 0.0  # where in the crawl cycle the stop fell: 0 just as a crawl started, 0.5 half-way to the next
    message_at: Optional[float] = None  # the delta arrived in the page
    reason: str = ""  # the state change's reason, as the delta carried it
    missed_crawls: int = 0  # crawls logged as stored after the stop that did not see it yet
    absent: Optional[CellChange] = None  # cells without state: the records expired
    rejoin_s: Optional[float] = None  # restart → cells online again
    notes: list[str] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return self.changed.at - self.stopped_at

    def parts(self) -> dict[str, Optional[float]]:
        """Consecutive parts of total_s (None where a timestamp is missing)."""
        crawl_end = None if self.crawl_started_at is None else self.crawl_started_at + self.crawl_duration_s
        return {
            "stop → crawl start": None if self.crawl_started_at is None else self.crawl_started_at - self.stopped_at,
            "crawl": self.crawl_duration_s,
            "store + publish + push": None if self.message_at is None or crawl_end is None
            else self.message_at - crawl_end,
            "apply in page": None if self.message_at is None else self.changed.at - self.message_at,
        }


def page_html_shows_online(url: str, key: str) -> bool:
    try:
        html = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return False
    return f'class="cell state-online" data-server="{key}"' in html


def wait_for_phase(page: LivePage, crawl_interval: float, phase: float) -> None:
    """Returns at `phase` of a crawl cycle (0: as a crawl starts), going by the newest crawl start the page heard of.

    The page shows the victim online right after a crawl, so stopping it at once would always land just after a
    crawl started and always measure nearly the longest wait; spreading the stops over the cycle measures the
    average. This is a deliberate pause to a chosen instant, not a wait for a condition."""
    starts = [message["crawl"]["started_at"] for message in page.messages() if message.get("crawl")]
    target = max(starts) + phase * crawl_interval
    while target < time.time() + 0.2:
        target += crawl_interval
    time.sleep(target - time.time())


def stop_victim(swarm: LocalSwarm, page: LivePage, stack: Stack, mode: str, wait_absent: bool) -> StopResult:
    stopped_at = time.time()
    swarm.stop_server(VICTIM.name, graceful=mode == "graceful")
    result = StopResult(mode, stopped_at, time.time(), page.wait_for_cells(
        lambda change: not change.all_online, after=stopped_at, timeout=120))
    deltas = [message for message in page.messages()
              if stopped_at <= message["at"] <= result.changed.at + 0.05 and message["type"] in ("delta", "resync")
              and (message["removed"] or (message["victim"] not in (None, "online")))]
    if deltas:
        message = deltas[0]
        result.message_at = message["at"]
        result.reason = ((message.get("reason") or "").splitlines() or [""])[0][:60].rstrip(": ")
        if message["type"] != "delta":
            result.notes.append(f"the change came with a {message['type']}, not a delta")
        if message.get("crawl"):
            result.crawl_id = message["crawl"]["id"]
            result.crawl_started_at = message["crawl"]["started_at"]
            result.crawl_duration_s = message["crawl"]["duration_s"]
    else:
        result.notes.append("no live message matched the change")
    result.missed_crawls = sum(1 for crawl, at in stack.crawls_logged().items()
                               if at > stopped_at and (result.crawl_id is None or crawl < result.crawl_id))
    if wait_absent:
        result.absent = page.wait_for_cells(lambda change: change.shown == "absent", after=stopped_at, timeout=120)
    return result


def restart_victim(swarm: LocalSwarm, page: LivePage) -> float:
    started = time.time()
    swarm.add_server(VICTIM, wait=False)
    return page.wait_for_cells(lambda change: change.all_online, after=started, timeout=240).at - started


def seconds(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.2f}"


def span(values: list[float]) -> str:
    """"–", one value, or "lowest–highest"."""
    if len(values) < 2:
        return seconds(values[0] if values else None)
    return f"{min(values):.1f}–{max(values):.1f}"


def figures_markdown(results: list[StopResult], crawl_interval: float, update_period: float) -> tuple[str, str]:
    """(the summary and per-stop tables, the explanation), both markdown."""
    part_names = list(results[0].parts())
    lines = ["| # | stop | phase | page shows (reason) | total stop → cells s | "
             + " | ".join(f"{name} s" for name in part_names)
             + " | crawls that missed it | process gone after s | stop → absent s | rejoin s |",
             "|---|---|---|---|---|" + "---|" * len(part_names) + "---|---|---|---|"]
    for index, result in enumerate(results, 1):
        parts = result.parts()
        lines.append(
            f"| {index} | {result.mode} | {result.phase:.2f} | {result.changed.shown} ({result.reason or '?'}) | "
            f"{seconds(result.total_s)} | "
            + " | ".join(seconds(parts[name]) for name in part_names)
            + f" | {result.missed_crawls} | {seconds(result.exited_at - result.stopped_at)} | "
            f"{seconds(result.absent.at - result.stopped_at if result.absent else None)} | "
            f"{seconds(result.rejoin_s)} |")
    summary = ["| stop | repetitions | page shows | mean total s | max total s | mean stop → crawl start s "
               "| mean crawl s | mean store + publish + push + apply s | stop → absent s | target |",
               "|---|---|---|---|---|---|---|---|---|---|"]
    after_crawl: list[float] = []
    crawl_times: list[float] = []
    for mode in [mode for mode in ("graceful", "kill") if any(result.mode == mode for result in results)]:
        chosen = [result for result in results if result.mode == mode]
        waits = [part for part in (r.parts()["stop → crawl start"] for r in chosen) if part is not None]
        crawls = [r.crawl_duration_s for r in chosen if r.crawl_duration_s is not None]
        after = [r.changed.at - (r.crawl_started_at + r.crawl_duration_s) for r in chosen
                 if r.crawl_started_at is not None]
        absent = [r.absent.at - r.stopped_at for r in chosen if r.absent]
        crawl_times += crawls
        after_crawl += after
        summary.append(
            f"| {mode} | {len(chosen)} | {', '.join(sorted({r.changed.shown for r in chosen}))} "
            f"| {seconds(mean([r.total_s for r in chosen]))} | {seconds(max(r.total_s for r in chosen))} "
            f"| {seconds(mean(waits) if waits else None)} | {seconds(mean(crawls) if crawls else None)} "
            f"| {seconds(mean(after) if after else None)} "
            f"| {span(absent)} "
            "| none set (issue 7: measure and explain) |")
    crawl_s = mean(crawl_times) if crawl_times else 0.0
    graceful = [r for r in results if r.mode == "graceful" and r.crawl_started_at is not None]
    graceful_note = ""
    if graceful:
        caught = [r.crawl_started_at - r.stopped_at for r in graceful if r.missed_crawls == 0]
        graceful_note = (f" Here {sum(r.missed_crawls for r in graceful)} crawls finished after a graceful stop "
                         "without seeing it" + (f"; the OFFLINE record was already in the DHT for a crawl starting "
                                                f"{min(caught):.2f} s after the signal" if caught else "") + ".")
    after_s = mean(after_crawl) if after_crawl else 0.0
    expiration = max(2 * update_period, 3.0)
    table = "\n".join(summary) + "\n\nEach stop:\n\n" + "\n".join(lines)
    notes = [f"stop {index}: {note}" for index, result in enumerate(results, 1) for note in result.notes]
    if notes:
        table += "\n\nNotes: " + "; ".join(notes) + "."
    explanation = (
        f"CRAWL_INTERVAL {crawl_interval:g} s; the servers announce every {update_period:g} s (--update_period), so "
        f"each announcement expires after {expiration:g} s (petals: max(2 × update_period, 3 s)). The stops are "
        "spread evenly over the crawl cycle (\"phase\": the share of a crawl interval between the latest crawl's "
        "start and the stop), so the means estimate the average lag; stopping as soon as the page shows the victim "
        "online would always land just after a crawl and measure nearly the worst case.\n\n"
        "How it is timed, all on this machine's one clock: the stop is when the signal was sent; the crawl that "
        "showed the change is identified by the delta the page received, which carries the crawl's own "
        "`started_at` and `duration_s`; \"store + publish + push\" runs from the crawl's end to the delta's arrival "
        "on the page's WebSocket, and \"apply in page\" from there to the victim's cells changing, both timestamped "
        "inside the page by a hook (Date.now(), 1 ms resolution: a message listener on the socket and a "
        "MutationObserver on the cells), so selenium's 0.2 s polling adds nothing to the figures. \"crawls that "
        "missed it\": crawls the worker logged as stored after the stop that still showed the victim online.\n\n"
        "Where the time goes:\n\n"
        f"- **Waiting for the next crawl is nearly all of it.** Beat starts a crawl every {crawl_interval:g} s, so "
        f"a stop waits 0 to {crawl_interval:g} s ({crawl_interval / 2:g} s on average) for the next crawl to begin. "
        f"The crawl itself took {crawl_s:.2f} s on average here (it reads the DHT, then calls rpc_info on every "
        f"server announced online; two servers), and storing the crawl, publishing its delta through the channel "
        f"layer, the web server's push and the page's update {after_s:.2f} s together.\n"
        "- **Killed server: its records need not expire first.** They still say online for up to "
        f"{expiration:g} s, but the crawl's rpc_info call to it fails at once (nothing listens on its port any "
        "more). One failed check of a server that answered before is held (a single lost reply, or our own "
        "trouble, must not write an outage: `REACHABILITY_CONFIRMATIONS`, 2), so the second crawl after the kill "
        "shows it **unreachable**: one crawl interval more than the first would. Its cells lose their state "
        f"(absent) only after its last announcement expired ({update_period:g}–{expiration:g} s after the kill, "
        "depending on when it last announced) and two more crawls found no record of it: the \"stop → absent\" "
        "column.\n"
        "- **Graceful stop (SIGINT):** petals announces OFFLINE as it shuts down, so the first crawl after that "
        "shows the cells **offline** (with the reason \"announced offline\"); \"process gone after\" is how long "
        "its shutdown took, which the page does not wait for." + graceful_note + "\n"
        f"- **With the default CRAWL_INTERVAL of 15 s** the wait for a crawl becomes 0 to 15 s, so expect about "
        f"{7.5 + crawl_s + after_s:.1f} s on average and up to {15 + crawl_s + after_s:.1f} s (7.5 s or 15 s + "
        f"{crawl_s:.2f} s crawl + {after_s:.2f} s store, push and apply, from the means above). On the public "
        "swarm the crawl takes longer (hundreds of servers to call) and servers announce every 60 s (petals' "
        "default), so a killed server shows unreachable after two crawls but stays on the map (unreachable) for up "
        "to 120 s until its records expire.\n"
        f"- This machine has {os.cpu_count()} cores shared by the swarm, the stack and Chromium, so single figures "
        "are noisy; \"rejoin\" (restart → online in the page) is mostly the Petals server's start-up and first "
        "announcement, plus the wait for a crawl.")
    return table, explanation


def run(args, var_dir: Path) -> list[StopResult]:
    redis_url = services.redis_url(REDIS_DB)
    redis.Redis.from_url(redis_url).flushdb()  # our own DB: nothing left over from an earlier run
    swarm = LocalSwarm(var_dir / "swarm", update_period=args.update_period)
    stack = page = None
    results: list[StopResult] = []
    try:
        print("starting the local swarm (anchor + victim) ...", flush=True)
        state = swarm.up(plan=(ANCHOR, VICTIM), wait_timeout=300)
        victim = next(item for item in state["servers"] if item["name"] == VICTIM.name)
        key = f"{VICTIM.dht_prefix}/{victim['peer_id']}"
        print("starting the stack ...", flush=True)
        stack = Stack(var_dir / "stack", {
            "REDIS_URL": redis_url, "CRAWL_INTERVAL": f"{args.crawl_interval:g}",
            "SWARM_INITIAL_PEERS": " ".join(state["initial_peers"]),
            "PROBE_INTERVAL": "86400", "CONSISTENCY_INTERVAL": "86400",  # no probe rounds competing for the CPU
        })
        page_url = f"{stack.url}/models/{VICTIM.dht_prefix}/"

        def stack_shows_victim():
            stack.check_running()
            return page_html_shows_online(page_url, key)

        wait_until(stack_shows_victim, timeout=180, interval=1.0, what="the model page to show the victim online")
        print("opening the model page in Chromium ...", flush=True)
        page = LivePage(page_url, key)
        wait_until(lambda: page.live_mode() == "connected", timeout=60, what="the page's WebSocket")
        wait_until(lambda: page.current_cells().all_online, timeout=60, what="the page to show the victim online")
        for repetition in range(args.repeats):
            phase = (repetition + 0.5) / args.repeats  # stratified over the crawl cycle
            for mode in args.modes:
                wait_for_phase(page, args.crawl_interval, phase)
                result = stop_victim(swarm, page, stack, mode, wait_absent=mode == "kill")
                result.phase = phase
                stack.check_running()
                print(f"{repetition + 1} {mode}: cells {result.changed.shown} after {result.total_s:.2f} s "
                      + ", ".join(f"{name} {seconds(value)}" for name, value in result.parts().items())
                      + (f"; absent after {result.absent.at - result.stopped_at:.2f} s" if result.absent else "")
                      + "".join(f"; {note}" for note in result.notes), flush=True)
                results.append(result)
                if len(results) < args.repeats * len(args.modes):  # no restart after the last stop
                    result.rejoin_s = restart_victim(swarm, page)
                    print(f"  restarted: online in the page after {result.rejoin_s:.2f} s", flush=True)
    except BaseException:
        if page is not None:
            try:
                print(f"what the page recorded: {page.describe()}", flush=True)
            except Exception as error:  # the browser may be gone already (Ctrl-C reaches chromedriver too)
                print(f"(could not read the page: {type(error).__name__})", flush=True)
        raise
    finally:
        try:
            if page is not None:
                page.close()
        finally:
            try:
                if stack is not None:
                    stack.stop()
            finally:
                try:
                    swarm.down()
                finally:
                    redis.Redis.from_url(redis_url).flushdb()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="stops of each kind")
    parser.add_argument("--modes", default="graceful,kill", help="comma-separated: graceful (SIGINT), kill (SIGKILL)")
    parser.add_argument("--crawl-interval", type=float, default=5.0, help="CRAWL_INTERVAL of the stack, seconds")
    parser.add_argument("--update-period", type=float, default=10.0,
                        help="the servers' --update_period, seconds (the launcher's default, as in `make demo`)")
    parser.add_argument("--quick", action="store_true", help="one repetition; prints, writes nothing")
    args = parser.parse_args()
    args.modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not args.modes or set(args.modes) - {"graceful", "kill"} or args.repeats < 1:
        parser.error("--modes takes graceful and/or kill; --repeats must be 1 or more")
    if args.quick:
        args.repeats = 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `timeout` still stops everything
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="live-lag-") as var_dir:
        results = run(args, Path(var_dir))
    table, explanation = figures_markdown(results, args.crawl_interval, args.update_period)
    print(f"\n{table}\n\n{explanation}\n\nfull run: {time.monotonic() - started:.0f} s")
    if args.quick:
        print("--quick: BENCHMARKS.md left as it is")
        return
    command = (f".venv/bin/python -m bench.live_lag --repeats {args.repeats} --modes {','.join(args.modes)} "
               f"--crawl-interval {args.crawl_interval:g} --update-period {args.update_period:g}")
    write_section("live-lag", (
        "## Live lag: a server stops → its cells change in a browser\n\n"
        + preamble(command, "from the repository root; it starts its own local swarm (2 Petals servers on a tiny "
                   "random-weight Llama, on CPU), `manage.py runstack` on SQLite and Redis DB 13, and headless "
                   f"Chromium; {time.monotonic() - started:.0f} s in all")
        + f"\n{table}\n\n{explanation}\n"))


if __name__ == "__main__":
    main()

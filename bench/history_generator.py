"""Days of simulated history for a synthetic swarm, written straight into the tables (COPY on PostgreSQL, executemany
on SQLite), in the shapes the real code leaves after retention has run at the default settings (see
`generate_history`)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator, Optional

from django.conf import settings
from django.db import connection, transaction

from explorer.crawls.ingest import change_reason, store_crawl
from explorer.crawls.retention import apply_retention
from explorer.models import (
    ConsistencyCheck,
    Crawl,
    ModelStat,
    Probe,
    Server,
    ServerSample,
    ServerSession,
    StateChange,
)
from explorer.models.swarm import ServerStates
from swarm.localswarm.synthetic import make_swarm

DAY = 86400
HOUR = 3600
BATCH = 5000
NOT_RUNNABLE = "no model files for {}: the probe needs its config, embeddings and head; set PROBE_MODELS={}=/local/path/or/repository"


@dataclass(frozen=True)
class Churn:
    """How often things change; guesses for a volunteer swarm, stated in BENCHMARKS.md."""

    restarts_per_day: float = 0.5  # per online server: record expires, rejoins (joining, then online) minutes later
    unreachable_per_day: float = 2.0  # per online server: announced online but rpc_info fails for a few crawls
    span_change_share: float = 0.2  # of restarts: the server comes back with other blocks
    outages_per_month: float = 2.0  # per model: a gap for 5-30 minutes


def _utc(unix_seconds: float) -> datetime:
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc)


def _insert(model, fields: tuple[str, ...], rows: Iterable[tuple]) -> int:
    """Inserts rows (tuples in `fields` order) in batches inside one transaction, without holding them all in memory.
    Row for row what bulk_create would write (datetimes adapted by the backend's own operations), without the ORM's
    per-value SQL compilation, which made bulk_create ten times slower than the database: PostgreSQL gets COPY,
    SQLite executemany."""
    columns = [model._meta.get_field(name) for name in fields]
    datetimes = [index for index, field in enumerate(columns) if field.get_internal_type() == "DateTimeField"]
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            return written
        statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        batch = []
        for row in rows:
            if datetimes:
                row = list(row)
                for index in datetimes:
                    row[index] = adapt(row[index])
            batch.append(row)
            if len(batch) == BATCH:
                cursor.executemany(statement, batch)
                written, batch = written + len(batch), []
        if batch:
            cursor.executemany(statement, batch)
    return written + len(batch)


class _History:
    def __init__(self, servers: int, days: float, seed: int, churn: Churn, now: Optional[float]):
        self.rng = random.Random(seed)
        self.churn = churn
        self.interval = settings.CRAWL_INTERVAL
        now = time.time() if now is None else now
        self.now = now - now % self.interval
        self.start = self.now - days * DAY
        raw_start = self.now - settings.RETENTION_RAW_DAYS * DAY
        self.raw_start = max(self.start, raw_start - raw_start % HOUR)  # retention cuts at an hour edge
        self.swarm = make_swarm(servers, seed=seed)
        self.snapshot = self.swarm.snapshot(at=self.start)
        self.crawl_ids: list[int] = []

    def crawl_times(self) -> Iterator[float]:
        at = self.raw_start
        while at < self.now:
            yield at
            at += self.interval

    def crawl_id(self, at: float) -> Optional[int]:
        if at < self.raw_start:
            return None  # retention deleted that crawl (state changes keep a null crawl)
        index = int((at - self.raw_start) // self.interval)
        return self.crawl_ids[index] if index < len(self.crawl_ids) else None

    # rows (tuples in the order of the field names next to each generator) ----------------------------------------
    CRAWL_FIELDS = ("started_at", "finished_at", "duration_s", "status", "error", "servers_seen", "models_seen",
                    "records_rejected", "bootstrap_reachable", "bootstrap_total")

    def crawls(self) -> Iterator[tuple]:
        servers, models = len(self.snapshot.servers), len(self.snapshot.models)
        for at in self.crawl_times():
            moment = _utc(at)
            yield (moment, moment + timedelta(seconds=1.0), 1.0, Crawl.Status.OK.value, "", servers, models, 0, 1, 1)

    def outages(self) -> dict[int, list[tuple[float, float]]]:
        """Per model: (start, end) of the times it could not serve a full forward pass."""
        result = {}
        months = (self.now - self.start) / (30 * DAY)
        for model_id in self.models:
            count = self.rng.randrange(0, int(2 * self.churn.outages_per_month * months) + 1)
            begins = sorted(self.rng.uniform(self.start, self.now) for _ in range(count))
            result[model_id] = [(begin, begin + self.rng.uniform(300, 1800)) for begin in begins]
        return result

    STAT_FIELDS = ("model", "resolution", "bucket_start", "samples", "blocks_covered_min", "replication_min",
                   "replication_avg", "servers_online_avg", "servers_online_max", "throughput_avg", "healthy_fraction")

    def model_stats(self) -> Iterator[tuple]:
        outages, per_hour, rng = self.outages(), int(HOUR // self.interval), self.rng
        hour, crawl = ModelStat.Resolution.HOUR.value, ModelStat.Resolution.CRAWL.value
        for model_id, report in self.models.items():
            def broken(at: float, until: float) -> float:
                return sum(max(0.0, min(end, until) - max(begin, at)) for begin, end in outages[model_id])

            at = self.start - self.start % HOUR
            while at < self.raw_start:  # hourly rows, as retention rolls them up
                healthy = 1.0 - broken(at, at + HOUR) / HOUR
                yield (model_id, hour, _utc(at), per_hour, report.num_blocks if healthy == 1 else 0,
                       max(0, report.replication_min - 1) if healthy == 1 else 0, report.replication_avg,
                       report.servers_online - rng.uniform(0, 2), report.servers_online,
                       report.throughput_online * rng.uniform(0.95, 1.05), healthy)
                at += HOUR
            for at in self.crawl_times():  # per-crawl rows of the last RETENTION_RAW_DAYS
                healthy = broken(at, at + 1) == 0
                online = report.servers_online - rng.randrange(0, 3)
                yield (model_id, crawl, _utc(at), 1, report.blocks_covered if healthy else report.num_blocks - 3,
                       report.replication_min if healthy else 0, report.replication_avg, online, online,
                       report.throughput_online * rng.uniform(0.97, 1.03), 1.0 if healthy else 0.0)

    CHANGE_FIELDS = ("server", "crawl", "at", "old_state", "new_state", "reason")
    SESSION_FIELDS = ("server", "started_at", "ended_at")

    def timelines(self) -> tuple[list[tuple], list[tuple]]:
        """State changes and sessions per server: appeared at the start; online servers restart and flap."""
        changes, sessions = [], []
        for server in self.servers:
            changes.append((server.pk, None, _utc(self.start), ServerStates.ABSENT.value, server.state,
                            change_reason(ServerStates.ABSENT, server.state, self.records[server.pk])))
            if server.state == ServerStates.ONLINE:
                self._online_timeline(server, changes, sessions)
        return changes, sessions

    def _online_timeline(self, server: Server, changes: list, sessions: list) -> None:
        rng, churn, step = self.rng, self.churn, self.interval
        events, at = [], self.start
        rate = (churn.restarts_per_day + churn.unreachable_per_day) / DAY
        while True:
            at += rng.expovariate(rate)
            at -= at % step
            if at >= self.now - HOUR:  # the last hour: as the snapshot says, online
                break
            restart = rng.random() < churn.restarts_per_day / (churn.restarts_per_day + churn.unreachable_per_day)
            gone, back = rng.randrange(4, 40) * step, rng.randrange(4, 20) * step
            events.append((at, restart, gone, back, restart and rng.random() < churn.span_change_share))
            at += gone + back if restart else gone
        span_changes = sum(1 for event in events if event[4])
        spans = [self._random_span(server) for _ in range(span_changes)] + [(server.start_block, server.end_block)]
        session_start = self.start
        online, absent, joining = ServerStates.ONLINE.value, ServerStates.ABSENT.value, ServerStates.JOINING.value
        unreachable = ServerStates.UNREACHABLE.value

        def change(moment: float, old: str, new: str, reason: str) -> None:
            changes.append((server.pk, self.crawl_id(moment), _utc(moment), old, new, reason))

        for at, restart, gone, back, span_change in events:
            if not restart:
                change(at, online, unreachable, "announced online but unreachable: rpc_info: no answer")
                change(at + gone, unreachable, online, "answers rpc_info again")
                continue
            change(at, online, absent, change_reason(online, absent, None))
            sessions.append((server.pk, _utc(session_start), _utc(at)))
            change(at + gone, absent, joining, "appeared in the DHT as joining")
            if span_change:
                (old_start, old_end), (new_start, new_end) = spans.pop(0), spans[0]
                change(at + gone, joining, joining, f"span changed from {old_start}:{old_end} to {new_start}:{new_end}")
            session_start = at + gone + back
            change(session_start, joining, online, "announced online")
        sessions.append((server.pk, _utc(session_start), None))

    def _random_span(self, server: Server) -> tuple[int, int]:
        blocks = server.model.num_blocks
        length = self.rng.randrange(max(1, blocks // 8), max(2, blocks // 2))
        start = self.rng.randrange(0, max(1, blocks - length))
        return start, min(blocks, start + length)

    SAMPLE_FIELDS = ("server", "hour", "state", "throughput", "cache_tokens_left")

    def samples(self) -> Iterator[tuple]:
        hours = []
        at = self.start - self.start % HOUR
        while at <= self.now:
            hours.append(_utc(at))
            at += HOUR
        rng = self.rng
        for server in self.servers:
            throughput = self.records[server.pk].throughput
            for hour in hours:
                yield (server.pk, hour, server.state, round(throughput * rng.uniform(0.9, 1.1), 3),
                       rng.randrange(0, 2**20))

    PROBE_FIELDS = ("model", "kind", "trigger", "status", "started_at", "duration_s", "tokens_requested",
                    "prompt_ids", "output_ids", "error")

    def probes(self) -> Iterator[tuple]:
        """Route probes every PROBE_INTERVAL per model: with no PROBE_MODELS (the default) each says not runnable."""
        for model_id, report in self.models.items():
            error = NOT_RUNNABLE.format(report.dht_prefix, report.dht_prefix)
            at = self.start
            while at < self.now:
                yield (model_id, Probe.Kind.ROUTE.value, Probe.Trigger.SCHEDULE.value, Probe.Status.NOT_RUNNABLE.value,
                       _utc(at), 0.0, 0, "[]", "[]", error)
                at += settings.PROBE_INTERVAL

    CHECK_FIELDS = ("model", "status", "started_at", "duration_s", "error", "inconsistent")

    def consistency_checks(self) -> Iterator[tuple]:
        for model_id, report in self.models.items():
            error = NOT_RUNNABLE.format(report.dht_prefix, report.dht_prefix)
            at = self.start
            while at < self.now:
                yield (model_id, ConsistencyCheck.Status.NOT_RUNNABLE.value, _utc(at), 0.0, error, 0)
                at += settings.CONSISTENCY_INTERVAL

    # the whole run ----------------------------------------------------------------------------------------------------
    def write(self) -> dict:
        timings, counts = {}, {}

        def timed(name: str, work) -> None:
            started = time.perf_counter()
            counts[name] = work()
            timings[name] = time.perf_counter() - started

        def first_crawl() -> int:  # models, peers and servers as the first crawl stores them
            store_crawl(self.snapshot)
            for model in (Crawl, ModelStat, ServerSession, StateChange, ServerSample):
                model.objects.all().delete()  # the history below replaces what that crawl wrote
            return len(self.snapshot.servers)

        timed("servers", first_crawl)
        self.servers = list(Server.objects.select_related("peer", "model").order_by("pk"))
        by_key = {(record.peer_id, record.dht_prefix): record for record in self.snapshot.servers}
        self.records = {server.pk: by_key[(server.peer.peer_id, server.model.dht_prefix)] for server in self.servers}
        prefixes = {server.model.dht_prefix: server.model_id for server in self.servers}
        self.models = {prefixes[report.dht_prefix]: report for report in self.snapshot.models}

        def crawls() -> int:
            written = _insert(Crawl, self.CRAWL_FIELDS, self.crawls())
            self.crawl_ids = list(Crawl.objects.order_by("started_at").values_list("pk", flat=True))
            return written

        timed("crawls", crawls)
        timed("model_stats", lambda: _insert(ModelStat, self.STAT_FIELDS, self.model_stats()))
        changes, sessions = self.timelines()
        timed("state_changes", lambda: _insert(StateChange, self.CHANGE_FIELDS, changes))
        timed("sessions", lambda: _insert(ServerSession, self.SESSION_FIELDS, sessions))
        timed("samples", lambda: _insert(ServerSample, self.SAMPLE_FIELDS, self.samples()))
        timed("probes", lambda: _insert(Probe, self.PROBE_FIELDS, self.probes()))
        timed("consistency_checks", lambda: _insert(ConsistencyCheck, self.CHECK_FIELDS, self.consistency_checks()))

        def last_crawl() -> int:  # the newest crawl, stored by the real code: latest snapshot, models' last_seen
            store_crawl(self.snapshot.model_copy(update={"started_at": self.now}))
            report = apply_retention(_utc(self.now))  # what the hourly task would do now: close to nothing
            return report.rolled_to_hourly + report.deleted_crawls

        timed("last_crawl_and_retention", last_crawl)
        online = next(server for server in self.servers if server.state == ServerStates.ONLINE)
        return {"rows": counts, "seconds": timings, "total_s": sum(timings.values()),
                "model": online.model.dht_prefix, "peer_id": online.peer.peer_id,
                "now": self.now, "start": self.start, "raw_start": self.raw_start}


def generate_history(servers: int, days: float, seed: int = 0, churn: Churn = Churn(),
                     now: Optional[float] = None) -> dict:
    """Writes `days` of history ending now for `servers` synthetic servers over 10 models, as the system holds it
    after retention at the default settings: Crawl rows and per-crawl ModelStat rows for the last RETENTION_RAW_DAYS,
    hourly ModelStat rows before that, one ServerSample per server per hour, state changes and sessions from the
    churn in `churn`, a not-runnable route probe per model every PROBE_INTERVAL and consistency check every
    CONSISTENCY_INTERVAL (no PROBE_MODELS is the default), then one real crawl and a retention pass."""
    return _History(servers, days, seed, churn, now).write()

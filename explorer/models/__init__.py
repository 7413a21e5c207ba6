"""Stored history of the swarm: what exists (models, peers, servers) and what changed (crawls, sessions, state
changes, aggregates). Only changes are written per crawl, so an unchanged swarm costs a few rows per crawl."""

from explorer.models.alerts import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertNotification,
    AlertRule,
    AlertState,
    AlertTransition,
    DeliveryAttempt,
    Silence,
)
from explorer.models.history import Crawl, LatestSnapshot, ModelStat, ServerSample, ServerSession, StateChange
from explorer.models.probes import ConsistencyCheck, ConsistencyVerdict, Probe, ProbeHop
from explorer.models.swarm import Model, Peer, Server
from explorer.models.vantages import Vantage, VantageResult

__all__ = [
    "Alert", "AlertChannel", "AlertDelivery", "AlertNotification", "AlertRule", "AlertState", "AlertTransition",
    "DeliveryAttempt", "Silence",
    "ConsistencyCheck", "ConsistencyVerdict", "Probe", "ProbeHop",
    "Crawl", "LatestSnapshot", "Model", "ModelStat", "Peer", "Server", "ServerSample", "ServerSession", "StateChange",
    "Vantage", "VantageResult",
]

"""Starts, inspects and stops a real local Petals swarm: one bootstrap DHT and Petals servers on tiny models.

Its state lives in <var>/localswarm.json (initial_peers, models, servers with pids), so `down` stops exactly what
`up` started, even from another process.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Optional

from swarm.localswarm import processes
from swarm.localswarm.tiny_models import TINY_FALCON, TINY_LLAMA, TinyModelSpec, ensure_tiny_model

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServerPlan:
    name: str
    model: TinyModelSpec
    dht_prefix: str
    start: int
    end: int
    throughput: float = 10.0
    public_name: Optional[str] = None  # what the server announces; its name when unset


DEFAULT_PLAN = (
    ServerPlan("llama-front", TINY_LLAMA, "tiny-llama", 0, 3),
    ServerPlan("llama-back", TINY_LLAMA, "tiny-llama", 3, 6),
    ServerPlan("falcon-all", TINY_FALCON, "tiny-falcon", 0, 4),
)
# `make demo`'s swarm: the layout above plus a second server on falcon's blocks, so that the consistency check has two
# servers on the same span to compare (llama keeps its two-hop route).
DEMO_PLAN = DEFAULT_PLAN + (ServerPlan("falcon-twin", TINY_FALCON, "tiny-falcon", 0, 4),)


def _identity(path: Path) -> str:
    """Creates a libp2p identity file if missing; returns its peer id."""
    from hivemind.p2p import P2P, PeerID

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        P2P.generate_identity(str(path))
    return PeerID.from_identity(path.read_bytes()).to_base58()


class LocalSwarm:
    def __init__(self, var_dir: Path, update_period: float = 10.0):
        self.var_dir = Path(var_dir)
        self.home = self.var_dir / "localswarm"
        self.state_path = self.var_dir / "localswarm.json"
        self.update_period = update_period

    # state file ---------------------------------------------------------------------------------------------------
    def read_state(self) -> Optional[dict]:
        if not self.state_path.exists():
            return None
        return json.loads(self.state_path.read_text())

    def _write_state(self, state: dict) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(self.state_path)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        return env

    # starting -----------------------------------------------------------------------------------------------------
    def up(self, plan=DEFAULT_PLAN, wait_timeout: float = 180.0) -> dict:
        """Starts the bootstrap DHT and the planned servers unless already running; waits until all are ONLINE."""
        state = self.read_state()
        if state is not None and self.is_running(state):
            return state
        if state is not None:
            self.down()
        port = processes.free_port()
        dht_peer = _identity(self.home / "identities" / "bootstrap.id")
        maddr = f"/ip4/127.0.0.1/tcp/{port}/p2p/{dht_peer}"
        dht_process = processes.spawn(
            [sys.executable, "-m", "swarm.localswarm.petals_entry", "dht",
             "--host_maddrs", f"/ip4/127.0.0.1/tcp/{port}",
             "--identity_path", str(self.home / "identities" / "bootstrap.id"),
             "--refresh_period", "5"],
            self.home / "logs" / "bootstrap.log", PROJECT_ROOT, self._env(),
        )
        state = {
            "initial_peers": [maddr],
            "dht": {"peer_id": dht_peer, "port": port, **dht_process},
            "models": [],
            "servers": [],
            "update_period": self.update_period,
        }
        self._write_state(state)  # written early so that `down` can clean up a half-started swarm
        processes.wait_until(
            lambda: _port_open(port), timeout=60, what=f"the bootstrap DHT to listen on port {port}"
        )
        for server in plan:
            self.add_server(server, wait=False)
        if wait_timeout:
            self.wait_online(timeout=wait_timeout)
        return self.read_state()

    def add_server(self, server: ServerPlan, wait: bool = True, timeout: float = 180.0) -> dict:
        state = self.read_state()
        if state is None:
            raise RuntimeError("the local swarm is not up")
        path = ensure_tiny_model(server.model, self.home / "models")
        if not any(model["dht_prefix"] == server.dht_prefix for model in state["models"]):
            state["models"].append(
                {"dht_prefix": server.dht_prefix, "num_blocks": server.model.num_blocks, "path": str(path)}
            )
        identity_path = self.home / "identities" / f"{server.name}.id"
        peer_id = _identity(identity_path)
        process = processes.spawn(
            [sys.executable, "-m", "swarm.localswarm.petals_entry", "server", str(path),
             "--dht_prefix", server.dht_prefix,
             "--initial_peers", *state["initial_peers"],
             "--host_maddrs", "/ip4/127.0.0.1/tcp/0",
             "--identity_path", str(identity_path),
             "--public_name", server.public_name or server.name,
             "--device", "cpu", "--torch_dtype", "float32",
             "--throughput", str(server.throughput),
             "--block_indices", f"{server.start}:{server.end}",
             "--num_handlers", "2",
             "--update_period", str(self.update_period)],
            self.home / "logs" / f"{server.name}.log", PROJECT_ROOT, self._env(),
        )
        entry = {
            "name": server.name, "peer_id": peer_id, "dht_prefix": server.dht_prefix,
            "start": server.start, "end": server.end, "throughput": server.throughput,
            "log": str(self.home / "logs" / f"{server.name}.log"), **process,
        }
        state["servers"] = [item for item in state["servers"] if item["name"] != server.name] + [entry]
        self._write_state(state)
        if wait:
            self.wait_online(names=[server.name], timeout=timeout)
        return entry

    def wait_online(self, names: Optional[list[str]] = None, timeout: float = 180.0) -> None:
        """Waits until the named servers (default: all) announce every block of their span ONLINE in the DHT."""
        from swarm import dht_reads
        from swarm.dht_calls import call_in_dht
        from swarm.dht_client import start_dht
        from swarm.records import parse_block_entries
        from swarm.snapshot import ServerState

        state = self.read_state()
        servers = [item for item in state["servers"] if names is None or item["name"] in names]
        sizes = {model["dht_prefix"]: model["num_blocks"] for model in state["models"]}
        wanted = {(item["peer_id"], item["dht_prefix"], block) for item in servers
                  for block in range(item["start"], item["end"])}
        keys = sorted({f"{prefix}.{block}" for _, prefix, block in wanted})
        dht = start_dht(state["initial_peers"])

        def all_online() -> bool:
            for item in servers:
                if processes.find_ours(item["pid"], item["create_time"]) is None:
                    raise RuntimeError(f"server {item['name']} exited; see {item['log']}")
            raw = call_in_dht(dht, partial(dht_reads.read_keys, keys=keys), 30, "reading the servers' records")
            seen = set()
            for key, entries in raw.items():
                prefix, block = key.rsplit(".", 1)
                parsed, _ = parse_block_entries(prefix, sizes[prefix], int(block), entries)
                seen |= {(a.peer_id, prefix, a.block) for a in parsed if a.state == ServerState.ONLINE}
            return wanted <= seen

        try:
            processes.wait_until(all_online, timeout=timeout, interval=1.0, what="local swarm servers to be online")
        finally:
            dht.shutdown()

    # inspecting and stopping --------------------------------------------------------------------------------------
    def is_running(self, state: Optional[dict] = None) -> bool:
        state = state if state is not None else self.read_state()
        if state is None:
            return False
        members = [state["dht"]] + state["servers"]
        return all(processes.find_ours(item["pid"], item["create_time"]) for item in members)

    def status(self) -> dict:
        state = self.read_state()
        if state is None:
            return {"running": False, "initial_peers": [], "models": [], "servers": []}
        state = dict(state)
        state["dht"] = {**state["dht"], "alive": bool(processes.find_ours(state["dht"]["pid"], state["dht"]["create_time"]))}
        state["servers"] = [
            {**item, "alive": bool(processes.find_ours(item["pid"], item["create_time"]))} for item in state["servers"]
        ]
        state["running"] = state["dht"]["alive"] and all(item["alive"] for item in state["servers"])
        return state

    def stop_server(self, name: str, graceful: bool = True) -> bool:
        """Stops one server (graceful: it announces OFFLINE first) and drops it from the state file."""
        state = self.read_state() or {"servers": [], "models": []}
        match = [item for item in state["servers"] if item["name"] == name]
        if not match:
            raise KeyError(f"no local swarm server named {name!r}")
        was_running = processes.stop(match[0]["pid"], match[0]["create_time"],
                                     graceful_timeout=15.0 if graceful else None)
        state["servers"] = [item for item in state["servers"] if item["name"] != name]
        served = {item["dht_prefix"] for item in state["servers"]}
        state["models"] = [model for model in state["models"] if model["dht_prefix"] in served]
        self._write_state(state)
        return was_running

    def down(self) -> list[str]:
        """Stops the servers and the bootstrap DHT that `up` started; returns the names of those that were running."""
        state = self.read_state()
        if state is None:
            return []
        running = processes.stop_many([(item["pid"], item["create_time"]) for item in state["servers"]])
        stopped = [item["name"] for item in state["servers"] if item["pid"] in running]
        if processes.stop(state["dht"]["pid"], state["dht"]["create_time"], graceful_timeout=5.0):
            stopped.append("bootstrap")
        self.state_path.unlink(missing_ok=True)
        return stopped


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


__all__ = ["DEFAULT_PLAN", "DEMO_PLAN", "LocalSwarm", "ServerPlan"]

"""The embedded Petals client a probe drives: the model's config and non-block weights, loaded once per process.

A probe needs what a user's client needs: the model's config, its embeddings and its head, from a local path or a
repository. Without them a probe cannot run, and says so (ProbeNotRunnable) instead of crashing. Each loaded model
owns one petals DHT client (petals makes one per model); a few are kept, the least recently used one is closed.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional, Sequence

import swarm.compat  # noqa: F401  (restores hivemind names petals needs; must come before petals)

# isort: split

import torch
from hivemind.moe.client.remote_expert_worker import RemoteExpertWorker
from petals import AutoDistributedConfig, AutoDistributedModelForCausalLM
from petals.client.routing.sequence_manager import SequenceManagerState
from petals.data_structures import UID_DELIMITER

from swarm.dht_orphans import after_a_dht_process_died
from swarm.probe_session import ProbeSequenceManager

logger = logging.getLogger(__name__)


class ProbeNotRunnable(RuntimeError):
    """The probe cannot run at all (no model files, a mismatching model); the reason is in the message."""


class SwarmJoinFailed(RuntimeError):
    """The client could not join the swarm through its initial peers."""


@dataclass
class ClientModel:
    dht_prefix: str
    source: str
    model: torch.nn.Module

    @property
    def num_blocks(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def block_uids(self) -> tuple[str, ...]:
        return tuple(f"{self.dht_prefix}{UID_DELIMITER}{index}" for index in range(self.num_blocks))

    @property
    def dht(self):
        return self.model.transformer.h.sequence_manager.dht

    def sequence_manager(self, *, allowed: Optional[Sequence[str]] = None, blocked: Optional[Sequence[str]] = None,
                         connect_timeout: float = 5.0, request_timeout: float = 30.0,
                         routing_timeout: Optional[float] = None) -> ProbeSequenceManager:
        """A fresh sequence manager on this model's DHT: its own allow/block lists, no bans carried over, and
        max_retries=1, so that the first failure ends a probe instead of being routed around; routing waits for the
        DHT at most `routing_timeout` seconds."""
        config = copy.copy(self.model.config)
        config.allowed_servers = list(allowed) if allowed is not None else None
        config.blocked_servers = list(blocked) if blocked else None
        config.max_retries = 1
        config.show_route = False
        config.connect_timeout = connect_timeout
        config.request_timeout = request_timeout
        # one connection to the p2p daemon for every probe of this model (closing one of several breaks the others)
        state = SequenceManagerState(p2p=self.model.transformer.h.sequence_manager.state.p2p)
        return ProbeSequenceManager(config, self.block_uids, dht=self.dht, state=state,
                                    routing_timeout=routing_timeout)

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        transformer = self.model.transformer
        return transformer.word_embeddings_layernorm(transformer.word_embeddings(token_ids))

    def next_token(self, hidden: torch.Tensor) -> tuple[int, torch.Tensor]:
        """The greedy next token after the last position of the blocks' output, and the logits it came from."""
        logits = self.model.lm_head(self.model.transformer.ln_f(hidden[:, -1:]))[0, -1]
        return int(logits.argmax()), logits

    def trouble(self) -> Optional[str]:
        """Why this client's own DHT process cannot be trusted now (it died, stopped answering, lost its p2p
        daemon), or None: a probe that failed then says so instead of blaming a server."""
        from swarm import dht_reads
        from swarm.dht_calls import DHTCallFailed, call_in_dht, describe_exit

        if not self.dht.is_alive():
            return f"our DHT client died during the probe ({describe_exit(self.dht)})"
        try:
            if not call_in_dht(self.dht, dht_reads.heartbeat, 5.0, "asking our DHT client", unresponsive_after=5.0):
                return "our DHT client's p2p daemon exited during the probe"
        except DHTCallFailed as error:
            return f"our DHT client does not answer: {error}"
        return None

    def close(self) -> None:
        try:
            RemoteExpertWorker.run_coroutine(self.model.transformer.h.sequence_manager.state.p2p.shutdown())
            self.dht.shutdown()
        except Exception:  # already gone
            logger.debug("closing the probe client's DHT failed", exc_info=True)
        after_a_dht_process_died()  # it may have died, or been terminated, while it held hivemind's shared locks


def load_client_model(dht_prefix: str, source: str, initial_peers: Sequence[str],
                      expected_blocks: Optional[int] = None) -> ClientModel:
    try:
        config = AutoDistributedConfig.from_pretrained(source)
    except Exception as error:
        raise ProbeNotRunnable(f"cannot load the model config from {source!r}: {error}") from error
    blocks = getattr(config, "num_hidden_layers", None)
    if expected_blocks is not None and blocks != expected_blocks:
        raise ProbeNotRunnable(
            f"the local model {source!r} has {blocks} blocks but the swarm's {dht_prefix!r} has {expected_blocks}")
    try:
        model = AutoDistributedModelForCausalLM.from_pretrained(
            source, initial_peers=list(initial_peers), dht_prefix=dht_prefix, torch_dtype=torch.float32,
            daemon_startup_timeout=30, show_route=False,
        )
    except Exception as error:
        if type(error).__module__.startswith("hivemind") or isinstance(error, TimeoutError):
            raise SwarmJoinFailed(f"could not join the swarm: {error}") from error
        raise ProbeNotRunnable(f"cannot load the model's embeddings and head from {source!r}: {error}") from error
    model.eval()
    return ClientModel(dht_prefix=dht_prefix, source=source, model=model)


class ClientModelCache:
    """Loaded client models by (dht_prefix, source, initial peers); at most `size`, least recently used closed."""

    def __init__(self, size: int = 4):
        self.size = size
        self._models: OrderedDict[tuple, ClientModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, dht_prefix: str, source: str, initial_peers: Sequence[str],
            expected_blocks: Optional[int] = None) -> ClientModel:
        key = (dht_prefix, source, tuple(initial_peers))
        with self._lock:
            client = self._models.get(key)
            if client is not None and client.trouble() is None:
                self._models.move_to_end(key)
                if expected_blocks is not None and client.num_blocks != expected_blocks:
                    raise ProbeNotRunnable(f"the local model {source!r} has {client.num_blocks} blocks but the "
                                           f"swarm's {dht_prefix!r} has {expected_blocks}")
                return client
            if client is not None:
                client.close()
            client = load_client_model(dht_prefix, source, initial_peers, expected_blocks)
            self._models[key] = client
            while len(self._models) > self.size:
                _, evicted = self._models.popitem(last=False)
                evicted.close()
            return client

    def close_all(self) -> None:
        with self._lock:
            for client in self._models.values():
                client.close()
            self._models.clear()


clients = ClientModelCache()

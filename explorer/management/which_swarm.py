"""Which swarm a one-off `manage.py crawl` / `probe` works on, and the sentence that says so.

--initial-peers first, then SWARM_INITIAL_PEERS when set, then the local swarm of this VAR_DIR while it is up (its
localswarm.json, its processes alive: a command run beside `make demo` crawls the demo's swarm, not the public one),
else the public Petals swarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from django.conf import settings

OPTION, ENVIRONMENT, LOCAL, PUBLIC = "--initial-peers", "SWARM_INITIAL_PEERS", "local", "public"


@dataclass(frozen=True)
class SwarmChoice:
    source: str  # OPTION, ENVIRONMENT, LOCAL or PUBLIC
    initial_peers: tuple[str, ...]
    state_file: Optional[Path] = None  # the local swarm's localswarm.json

    def sentence(self, verb: str = "crawling") -> str:
        peers = " ".join(self.initial_peers)
        if self.source == LOCAL:
            return f"{verb} the local swarm ({shown(self.state_file)}): {peers}"
        if self.source == PUBLIC:
            return f"{verb} the public swarm: {peers}"
        return f"{verb} {self.source}: {peers}"

    def document(self, verb: str = "crawling") -> dict:
        return {"source": self.source, "initial_peers": list(self.initial_peers),
                "state_file": None if self.state_file is None else str(self.state_file),
                "description": self.sentence(verb)}


def shown(path: Path) -> str:
    """A path relative to the project when it lies inside it (var/localswarm.json), else as it is."""
    try:
        return str(path.relative_to(settings.BASE_DIR))
    except ValueError:
        return str(path)


def local_swarm_peers() -> Optional[tuple[Path, tuple[str, ...]]]:
    """This VAR_DIR's local swarm's state file and initial peers, while it is up."""
    from swarm.localswarm.launcher import LocalSwarm

    swarm = LocalSwarm(settings.VAR_DIR)
    state = swarm.read_state()
    if not state or not state.get("initial_peers") or not swarm.is_running(state):
        return None
    return swarm.state_path, tuple(state["initial_peers"])


def swarm_for_command(command, options: dict, verb: str = "crawling") -> SwarmChoice:
    """What `crawl` and `probe` do first: refuse an embedded Redis another VAR_DIR's stack owns (its locks and
    counters are not ours), choose the swarm, and say which in the human output."""
    from django.core.management.base import CommandError

    from explorer.embedded_redis import refuse_foreign_redis

    try:
        refuse_foreign_redis(settings)
    except RuntimeError as error:
        raise CommandError(str(error)) from None
    choice = choose_swarm(options["initial_peers"])
    if not options["json"]:
        command.stdout.write(choice.sentence(verb))
    return choice


def choose_swarm(option_peers: Optional[Sequence[str]] = None) -> SwarmChoice:
    if option_peers:
        return SwarmChoice(OPTION, tuple(option_peers))
    if settings.SWARM_INITIAL_PEERS:
        return SwarmChoice(ENVIRONMENT, tuple(settings.SWARM_INITIAL_PEERS))
    local = local_swarm_peers()
    if local is not None:
        return SwarmChoice(LOCAL, local[1], state_file=local[0])
    from explorer.crawls.crawling import initial_peers

    return SwarmChoice(PUBLIC, tuple(initial_peers()))

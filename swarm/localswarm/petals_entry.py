"""Entry point for petals' own CLIs (run_dht, run_server) with the hivemind compatibility names restored.

petals' CLIs pickle functions defined in their module into child processes, so they must be started through their
importable module's main(), never with runpy:  python -m swarm.localswarm.petals_entry server|dht ARGS...
"""

import sys

import swarm.compat  # noqa: F401  (must come before petals)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("server", "dht"):
        sys.exit("usage: python -m swarm.localswarm.petals_entry server|dht [petals CLI arguments]")
    which = sys.argv.pop(1)
    if which == "server":
        from petals.cli.run_server import main as run
    else:
        from petals.cli.run_dht import main as run
    run()


if __name__ == "__main__":
    main()

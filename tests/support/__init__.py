"""Helpers of the test suite: processes, the shared swarm, whole stacks, and the session's Redis."""

"""Vantages: agents that check servers from where they run (registry, fan-out, the agent's side)."""

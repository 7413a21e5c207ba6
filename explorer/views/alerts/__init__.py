"""Operator pages under /alerts/: alerts and their history, rules, channels and silences; staff only."""

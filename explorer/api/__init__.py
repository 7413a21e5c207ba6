"""Interfaces for programs: /api/v1 (compatible with the public Petals health monitor), /api/v2, metrics, badges."""

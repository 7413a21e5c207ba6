"""Pages and small endpoints, one module each."""

"""locations checks (being written)."""

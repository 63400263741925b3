"""duplicates checks (being written)."""

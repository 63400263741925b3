"""languages checks (being written)."""

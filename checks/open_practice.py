"""open_practice checks (being written)."""

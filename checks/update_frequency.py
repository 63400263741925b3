"""update_frequency checks (being written)."""

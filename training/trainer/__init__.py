"""Mnemo's trainer helpers (data sampling, fast GDN kernel, schedule, checkpoints, plots)."""

"""Pieces every job shares: composing and validating configs, run folders, media, progress."""

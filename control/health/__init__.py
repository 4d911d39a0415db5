"""App health: each app judged against its own history (docs/health.md)."""

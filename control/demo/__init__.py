"""Demo data: a realistic fleet of apps with runs, logs and document tasks."""

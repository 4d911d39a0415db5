"""Housekeeping: retention of old rows and, on PostgreSQL, the time partitions of the
logs and function logs, run periodically by the scheduler's actors.

The periodic jobs themselves are declared in ``control/scheduler/jobs.py`` and carried
out by the actors of ``workers/maintenance.py``; this package holds the domain work.
"""

"""Hourly rollups: the machinery the rollup jobs (``control/performance/rollup.py``,
``control/pipelines/rollup.py``, ``control/audit/rollup.py``,
``control/runtimes/rollup.py``) share."""

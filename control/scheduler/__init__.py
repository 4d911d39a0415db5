"""The scheduler: a process that only sends messages for the declared periodic jobs.

``jobs.py`` declares what runs how often (intervals from settings), ``lock.py`` keeps two
replicas from firing the same tick twice (Redis ``SET NX EX``, or a unique row in
``scheduler_tick`` without Redis) and ``runner.py`` drives APScheduler.

``control`` never imports ``workers``: a job names its actor and queue, and the runner
sends it by that name through the task queue it is given (``control/tasks``). The worker
processes, which import ``workers``, own the actors (``workers/maintenance.py``).
"""

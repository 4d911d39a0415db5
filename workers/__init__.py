"""Dramatiq workers: the broker set up explicitly, then every actor declared on it.

``dramatiq workers.broker:setup workers`` (the Procfile's ``worker``) calls
:func:`workers.broker.setup`, which builds the broker from settings, makes it the global
one and declares every actor on it (``workers/actors.py``). Importing this package, or
any module of it, builds no broker and declares no actor.
"""

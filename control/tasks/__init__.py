"""Sending work to the workers: one small interface, two implementations.

``interface.py`` declares :class:`TaskQueue` (send an actor, named, with arguments) and
``actors.py`` names every actor the domain sends to and its queue. ``memory.py`` keeps
the sends in this process (tests, and anything that runs the handlers itself);
``dramatiq.py`` enqueues a ``dramatiq.Message`` by the actor's name on a broker, so a
sender never imports the actors (``workers``). The composition root (``control/cli``)
picks one and hands it to the services that send.
"""

from control.tasks.interface import ActorRef, TaskQueue

__all__ = ["ActorRef", "TaskQueue"]

"""Commands reach the agent two ways, and it acts on the table either way.

* **Messages**: in production a durable RabbitMQ queue ``dc.agent.<agent name>`` bound to
  the exchange ``dc.commands`` with ``<group>.#`` for each hosted group (``#`` when the
  agent hosts every group), consumed exclusively (one agent process per name) with manual
  acks; in the embedded default the same
  patterns subscribed on the in-process transport. A message only says "look at this
  app now"; duplicates (at-least-once delivery) are dropped by ``message_id``.
* **Polling**: every ``agent_poll_seconds`` the agent reads the apps of its groups whose
  ``command_flag`` is set, so a command whose message was lost, or that was set while
  the agent was down, is still carried out.

Either way the handler reads the app's ``command_flag`` under one lock (so a message and
the poll never act twice) and acts on what the table says (docs/commands.md: "the table
is the truth"): START queues a run, STOP cancels the current one, RESTART does both,
RESET puts a fatal app back on its schedule. Then it acknowledges the command with
``control.commands.services.acknowledge`` (which clears the flag), or, for a flag set
without a command row, clears the flag if it still holds that command. Apps the agent
does not host (another group, or no registered callable) are left to their manager.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson
import pika
import pika.exceptions

from control.apps.models import Apps
from control.clock import utcnow
from control.commands import memory_transport
from control.commands.memory_transport import Message
from control.commands.messages import EXCHANGE, EXCHANGE_TYPE, routing_word
from control.commands.models import LIVE, Command
from control.commands.services import acknowledge
from control.db.database import connected
from control.enums import CommandFlag
from control.errors import Conflict, NotFound

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes], None]
SEEN_IDS = 4096
ACCESS_REFUSED = 403  # AMQP reply code: the queue is in exclusive use


def binding_patterns(groups: Sequence[str]) -> list[str]:
    """``<group>.#`` per group (dots in a group become ``_``, as in routing keys); ``#``
    for every group."""
    return [f"{routing_word(g)}.#" for g in groups] if groups else ["#"]


def queue_name(agent_name: str) -> str:
    """The agent's durable queue."""
    return f"dc.agent.{agent_name}"


class CommandSource(Protocol):
    """Delivers command messages to ``on_message(message_id, body)``."""

    def start(self, on_message: OnMessage) -> None: ...

    def stop(self) -> None: ...


class MemorySource:
    """The in-process transport's subscriptions (embedded default)."""

    def __init__(
        self, patterns: Sequence[str], transport: memory_transport.MemoryTransport | None = None
    ) -> None:
        self._patterns = list(patterns)
        self._transport = transport
        self._unsubscribers: list[Callable[[], None]] = []

    def start(self, on_message: OnMessage) -> None:
        transport = self._transport or memory_transport.shared()

        def deliver(message: Message) -> None:
            on_message(message.message_id, message.body)

        self._unsubscribers = [transport.subscribe(p, deliver) for p in self._patterns]

    def stop(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers = []


class RabbitMQSource:
    """The agent's own durable queue bound to its patterns, consumed on one thread.

    The queue is consumed **exclusively**: a second agent process with the same name (so
    the same queue) is refused by the broker before it binds anything, says so in its
    log and keeps retrying, instead of silently taking half of the other agent's
    messages. So every message in the queue was routed here for one of our groups, and
    each other agent bound to that group got its own copy: a message for an app we do
    not host (a binding left by an earlier run with other groups, an app another agent
    has the code for) can be acked and dropped without anyone missing it.

    Reconnects with a growing pause (1 → 30 s) after any failure, whatever pika raises
    (it can raise ``ValueError`` mid-handshake when the peer drops the socket); the thread
    never ends before ``stop``. ``connected`` is set while consuming and ``last_error``
    names the last failure; meanwhile the agent's poll of ``command_flag`` keeps
    commands flowing. A message is acked once handled; if handling fails (database down)
    it is requeued after a second.
    """

    def __init__(self, url: str, queue: str, patterns: Sequence[str], prefetch: int = 20) -> None:
        params = pika.URLParameters(url)
        params.connection_attempts = 1
        params.socket_timeout = 5
        params.heartbeat = 30
        params.client_properties = {"connection_name": queue}
        self._params = params
        self.queue = queue
        self._patterns = list(patterns)
        self._prefetch = prefetch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.last_error: str | None = None

    def start(self, on_message: OnMessage) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_message,), name="dc-agent-commands", daemon=True
        )
        self._thread.start()

    def _run(self, on_message: OnMessage) -> None:
        pause = 1.0
        while not self._stop.is_set():
            try:
                self._consume(on_message)
                pause = 1.0
                continue
            except pika.exceptions.ChannelClosedByBroker as exc:
                self.last_error = f"{exc.reply_code} {exc.reply_text}"
                if exc.reply_code == ACCESS_REFUSED:
                    log.error(
                        "command queue %s is consumed by another agent with the same name: "
                        "give each agent its own DC_AGENT_NAME / --name; until then this "
                        "agent sees commands only by polling (retrying in %.0fs)",
                        self.queue,
                        pause,
                    )
                else:
                    log.warning(
                        "command queue %s: %s; reconnecting in %.0fs", self.queue, exc, pause
                    )
            except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
                # ValueError: pika's "Expected connected socket" when the broker drops
                # the socket during the handshake, a connection failure like the others
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("command queue %s: %s; reconnecting in %.0fs", self.queue, exc, pause)
            except Exception as exc:  # a bug or a pika surprise must not end the thread
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("command queue %s failed; reconnecting in %.0fs", self.queue, pause)
            self.connected.clear()
            log.warning("command messages paused: commands are seen by polling meanwhile")
            self._stop.wait(pause)
            pause = min(30.0, pause * 2)

    def _consume(self, on_message: OnMessage) -> None:
        connection = pika.BlockingConnection(self._params)
        try:
            channel = connection.channel()
            channel.exchange_declare(EXCHANGE, exchange_type=EXCHANGE_TYPE, durable=True)
            channel.queue_declare(self.queue, durable=True)
            channel.basic_qos(prefetch_count=self._prefetch)

            def callback(ch: Any, method: Any, properties: Any, body: bytes) -> None:
                try:
                    on_message(properties.message_id or "", body)
                except Exception:
                    log.exception("command message %s not handled; requeued", properties.message_id)
                    self._stop.wait(1.0)
                    ch.basic_nack(method.delivery_tag, requeue=True)
                    return
                ch.basic_ack(method.delivery_tag)

            # exclusive first, bindings after: an agent refused the queue (same name as a
            # running one) must not add its groups to the other agent's queue
            channel.basic_consume(self.queue, callback, exclusive=True)
            for pattern in self._patterns:
                channel.queue_bind(self.queue, EXCHANGE, routing_key=pattern)
            self.connected.set()
            if self.last_error is not None:
                log.info("command messages resumed after: %s", self.last_error)
                self.last_error = None
            log.info("consuming %s (bound %s)", self.queue, ", ".join(self._patterns))
            while not self._stop.is_set():
                connection.process_data_events(time_limit=0.5)
        finally:
            self.connected.clear()
            if connection.is_open:
                try:
                    connection.close()
                except (pika.exceptions.AMQPError, OSError, ValueError):
                    log.debug("closing the command connection failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)


def build_source(rabbitmq_url: str | None, agent_name: str, groups: Sequence[str]) -> CommandSource:
    """RabbitMQ when configured, else the in-process transport."""
    patterns = binding_patterns(groups)
    if rabbitmq_url:
        return RabbitMQSource(rabbitmq_url, queue_name(agent_name), patterns)
    return MemorySource(patterns)


class Operations(Protocol):
    """What the handler asks of the agent."""

    @property
    def accepting(self) -> bool: ...

    def hosts(self, app: Apps) -> bool: ...

    def start_app(self, app: Apps, trigger: str) -> None: ...

    def stop_app(self, app_id: str, reason: str) -> bool: ...

    def restart_app(self, app: Apps, reason: str) -> None: ...

    def reset_app(self, app: Apps) -> None: ...


class CommandHandler:
    """Acts on an app's ``command_flag`` and acknowledges it (see the module docstring)."""

    def __init__(self, ops: Operations, agent_name: str, groups: Sequence[str]) -> None:
        self._ops = ops
        self._groups = list(groups)
        self.acknowledged_by = f"agent {agent_name}"[:254]
        self._lock = threading.Lock()
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.handled = 0

    def on_message(self, message_id: str, body: bytes) -> None:
        """A command message: dedupe, then look at the app it names."""
        with self._lock:
            if message_id and message_id in self._seen:
                return
        try:
            payload = orjson.loads(body)
            app_id = str(payload["app_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignored a command message that is not one: %r", body[:200])
            return
        self.handle_app(app_id)
        if message_id:
            with self._lock:
                self._seen[message_id] = None
                while len(self._seen) > SEEN_IDS:
                    self._seen.popitem(last=False)

    def poll(self) -> int:
        """Handle every flagged app this agent hosts; how many were handled.

        The flagged apps are read with what hosting depends on (group, name, settings),
        so one that no app of this agent is registered for costs no statement of its
        own: a fleet's flags waiting for other agents are not read one by one every
        poll."""
        query = Apps.select(Apps.id, Apps.group, Apps.app, Apps.settings).where(
            Apps.command_flag != CommandFlag.NONE
        )
        if self._groups:
            query = query.where(Apps.group.in_(self._groups))
        with connected():
            flagged = [app.id for app in query if self._ops.hosts(app)]
        return sum(self.handle_app(app_id) for app_id in flagged)

    def handle_app(self, app_id: str) -> bool:
        """Carry out the app's pending command, if it is ours; whether one was handled."""
        with self._lock, connected():
            if not self._ops.accepting:
                return False  # shutting down: the flag waits for the next agent
            app = Apps.get_or_none(Apps.id == app_id)
            if app is None or app.command_flag is CommandFlag.NONE:
                return False
            if (self._groups and app.group not in self._groups) or not self._ops.hosts(app):
                return False
            flag = app.command_flag
            log.info("command %s for %s", flag.value, app.id)
            self._act(flag, app)
            self._acknowledge(app.id, flag)
            self.handled += 1
            return True

    def _act(self, flag: CommandFlag, app: Apps) -> None:
        reason = "stop requested by an operator"
        if flag is CommandFlag.START:
            self._ops.start_app(app, "command")
        elif flag is CommandFlag.STOP:
            self._ops.stop_app(app.id, reason)
        elif flag is CommandFlag.RESTART:
            self._ops.restart_app(app, "restart requested by an operator")
        elif flag is CommandFlag.RESET:
            self._ops.reset_app(app)

    def _acknowledge(self, app_id: str, flag: CommandFlag) -> None:
        live = (
            Command.select(Command.id)
            .where(Command.app == app_id, Command.command == flag, Command.status.in_(LIVE))
            .order_by(Command.requested_at.desc())
            .first()
        )
        if live is not None:
            try:
                acknowledge(live.id, self.acknowledged_by)
                return
            except (Conflict, NotFound) as exc:
                log.info("command %s not acknowledged: %s", live.id, exc)
        # a flag without a live command (set by hand, or by an older control plane)
        Apps.update({Apps.command_flag: CommandFlag.NONE, Apps.command_updated: utcnow()}).where(
            Apps.id == app_id, Apps.command_flag == flag
        ).execute()

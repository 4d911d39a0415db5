"""Operators' notes on runs ("upstream site down"): added through the API, shown in the
run's detail and in the audit feed (``runtimes.note``)."""

from __future__ import annotations

from typing import Any

from control.audit import services as audit
from control.audit.context import AuditContext
from control.clock import utcnow
from control.db.database import connected, write_transaction
from control.errors import InvalidInput, NotFound
from control.runtimes.models import RunNote, Runtime

AUDIT_ACTION = "runtimes.note"
MAX_LENGTH = 2000


def view(note: RunNote) -> dict[str, Any]:
    """One note as the API shows it."""
    return {
        "id": note.id,
        "runtime": note.runtime_id,
        "text": note.text,
        "author": note.author,
        "created": note.created,
    }


def notes_of(runtime_id: str) -> list[dict[str, Any]]:
    """The run's notes, oldest first."""
    with connected():
        query = (
            RunNote.select()
            .where(RunNote.runtime == runtime_id)
            .order_by(RunNote.created.asc(), RunNote.id.asc())
        )
        return [view(note) for note in query]


def add_note(runtime_id: str, text: str, context: AuditContext) -> dict[str, Any]:
    """Add a note to the run, with its audit row in the same transaction; NotFound for
    an unknown run, InvalidInput for a blank or too long text."""
    text = text.strip()
    if not text:
        raise InvalidInput("A note needs some text.", field="text")
    if len(text) > MAX_LENGTH:
        raise InvalidInput(f"A note is at most {MAX_LENGTH} characters.", field="text")
    with connected(), write_transaction():
        run = Runtime.get_or_none(Runtime.id == runtime_id)
        if run is None:
            raise NotFound(f"No runtime with id {runtime_id!r}.")
        note = RunNote.create(
            runtime=run.id, text=text, author=context.actor.subject[:254], created=utcnow()
        )
        audit.write(
            context,
            AUDIT_ACTION,
            details={"runtime": run.id, "app": run.app_id, "note_id": note.id, "text": text},
        )
    return view(note)

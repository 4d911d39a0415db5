"""``dcctl --help`` in two sections: local administration, and remote (API) commands."""

from __future__ import annotations

import click

REMOTE_NOTE = "talk to a running API (DCCTL_URL, 'dcctl login'); usable from any machine"
LOCAL_NOTE = "work on this machine's database and processes (DC_* settings)"


class SectionedGroup(click.Group):
    """A group whose commands marked remote (``remote_names``) get a section of their own."""

    remote_names: frozenset[str] = frozenset()  # set by control/cli/__init__.py

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        local: list[tuple[str, str]] = []
        remote: list[tuple[str, str]] = []
        width = formatter.width - 6 - max((len(name) for name in self.commands), default=0)
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            row = (name, command.get_short_help_str(limit=width))
            (remote if name in self.remote_names else local).append(row)
        for title, note, rows in (
            ("Local administration", LOCAL_NOTE, local),
            ("Remote (API client)", REMOTE_NOTE, remote),
        ):
            if rows:
                with formatter.section(f"{title}: {note}"):
                    formatter.write_dl(rows)

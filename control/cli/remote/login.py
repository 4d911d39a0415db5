"""``dcctl login`` / ``dcctl logout``: keep a session with a remote API in a profile."""

from __future__ import annotations

import sys

import click

from control import __version__
from control.cli.remote import profile
from control.cli.remote.connection import USAGE, fail, reported
from dcclient import Client, PasswordAuth


def _password(from_stdin: bool) -> str:
    if not from_stdin:
        return str(click.prompt("Password", hide_input=True, err=True))
    line = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not line:
        fail("no password on stdin", USAGE)
    return line


@click.command()
@click.option("--url", envvar="DCCTL_URL", required=True, help="API base URL [env: DCCTL_URL].")
@click.option("--username", required=True, metavar="EMAIL", help="Your login email.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@click.option(
    "--profile",
    "profile_name",
    envvar="DCCTL_PROFILE",
    default="default",
    show_default=True,
    help="Name to save the session under [env: DCCTL_PROFILE].",
)
def login(url: str, username: str, password_stdin: bool, profile_name: str) -> None:
    """Remote: log in to the API at URL and save the session in a profile.

    The profile (in your config directory, readable by you only) keeps the URL and the
    token pair, never the password. Later remote commands use it unless --url,
    DCCTL_API_KEY or DCCTL_TOKEN say otherwise.
    """
    password = _password(password_stdin)
    auth = PasswordAuth(username, password)
    with reported(), Client(url, auth, user_agent=f"dcctl/{__version__}") as api:
        me = api.me()  # logs in, and proves the token works
    assert auth.tokens is not None
    profile.save(profile_name, url.rstrip("/"), username, auth.tokens)
    click.echo(
        f"Logged in to {url.rstrip('/')} as {me['subject']} ({me['role']}); "
        f"profile {profile_name!r} saved in {profile.profiles_path()}"
    )


@click.command()
@click.option(
    "--profile",
    "profile_name",
    envvar="DCCTL_PROFILE",
    default="default",
    show_default=True,
    help="The profile to end [env: DCCTL_PROFILE].",
)
def logout(profile_name: str) -> None:
    """Remote: end the profile's session on the API and forget it."""
    stored = profile.load(profile_name)
    if stored is None:
        fail(f"no profile {profile_name!r}", USAGE)
    auth = profile.ProfileAuth(profile_name, stored)
    try:
        with reported(), Client(auth.url, auth, user_agent=f"dcctl/{__version__}") as api:
            api.logout()
    finally:
        profile.remove(profile_name)  # forget it even when the server is out of reach
    click.echo(f"Logged out; profile {profile_name!r} removed")

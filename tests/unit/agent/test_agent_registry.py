"""Which callable runs an app: entry points, DC_AGENT_APPS and settings["entrypoint"]."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from control.agent.registry import Registry, parse_pairs
from control.demo import apps as demo_apps
from control.errors import ConfigurationError
from control.settings import load_settings
from tests import agent_apps


def _row(app: str, **settings: object) -> SimpleNamespace:
    return SimpleNamespace(app=app, settings=settings, group="g")


def test_pairs_from_the_setting():
    settings = load_settings(agent_apps=agent_apps.AGENT_APPS)
    pairs = parse_pairs(settings.agent_apps)
    assert pairs["test.quick"] == "tests.agent_apps:quick"
    registry = Registry.from_pairs(settings.agent_apps, entry_points=False)
    assert registry.get("test.quick") is agent_apps.quick


@pytest.mark.parametrize("bad", ["quick", "quick=module", "=m:f", "q=:f"])
def test_a_bad_pair_fails_at_start(bad):
    with pytest.raises(ConfigurationError, match="name=module:callable"):
        parse_pairs([bad])


def test_the_demo_apps_are_entry_points():
    registry = Registry()
    assert set(demo_apps.describe_entrypoints()) <= set(registry.names())
    assert registry.get("demo.documents") is demo_apps.documents


def test_an_app_resolves_by_its_entrypoint_setting_else_its_name():
    registry = Registry(
        {"scraper_x": agent_apps.quick, "shared": agent_apps.long}, entry_points=False
    )
    assert registry.resolve(_row("scraper_x")) is agent_apps.quick
    assert registry.resolve(_row("scraper_x", entrypoint="shared")) is agent_apps.long
    assert registry.hosts(_row("scraper_y")) is False
    # settings name registered callables, never modules to import
    assert registry.hosts(_row("scraper_x", entrypoint="os:system")) is False


def test_the_setting_wins_over_an_entry_point():
    registry = Registry.from_pairs(["demo.scraper=tests.agent_apps:quick"])
    assert registry.get("demo.scraper") is agent_apps.quick

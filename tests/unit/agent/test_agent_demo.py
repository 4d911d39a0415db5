"""The demo fleet's apps and their wiring: sample documents, NER, validation, schedules."""

from __future__ import annotations

import datetime as dt

import pytest

from control.agent.registry import Registry
from control.apps.models import Apps
from control.demo import apps as demo
from control.demo.seed import FAILING_ENTRYPOINT, LIVE_SCHEDULES, seed_demo


def test_a_dozen_sample_documents_of_every_type():
    docs = demo.sample_documents()
    assert 10 <= len(docs) <= 16
    assert {kind for kind, _, _ in docs} == {
        "company_registration",
        "invoice",
        "court_ruling",
        "annual_report",
    }


def test_ocr_normalisation_fixes_digit_lookalikes_and_hyphenation():
    text = demo.ocr_normalise("Stammkapital:   EUR 25.OOO,OO\nZoll-\n   abwicklung, Sp. z o.o.")
    assert text == "Stammkapital: EUR 25.000,00\nZollabwicklung, Sp. z o.o."


def test_entities_of_an_invoice():
    raw = next(t for _, name, t in demo.sample_documents() if name == "invoice_de_0042.txt")
    found = demo.extract_entities(demo.ocr_normalise(raw))
    assert found.companies == ["Rheinwerk Druck GmbH", "Nordlicht Logistik GmbH"]
    assert "03.04.2024" in found.dates
    assert found.vat_ids == ["DE811602947"]
    assert "EUR 1.892,70" in found.amounts
    assert demo.validate("invoice", found) == []


def test_some_samples_fail_validation():
    failing = {
        name
        for kind, name, text in demo.sample_documents()
        if demo.validate(kind, demo.extract_entities(demo.ocr_normalise(text)))
    }
    assert failing == {
        "invoice_uk_missing_vat.txt",
        "registration_uk_smudged.txt",
        "ruling_fr_unreadable.txt",
    }


@pytest.fixture
def fleet(db):
    seed_demo(now=dt.datetime(2025, 1, 15, 7, 30, 20))
    return list(Apps.select())


def test_every_seeded_app_has_a_demo_callable(fleet):
    registry = Registry()
    assert all(registry.hosts(app) for app in fleet)
    failing = [a for a in fleet if a.settings["entrypoint"] == FAILING_ENTRYPOINT]
    assert len(failing) == 1
    assert failing[0].schedule == "*/1 * * * *"


def test_the_demo_comes_alive_within_a_minute(fleet):
    now = dt.datetime(2025, 1, 15, 7, 30, 20)
    by_id = {a.id: a for a in fleet}
    short = [by_id[i] for i in LIVE_SCHEDULES if i in by_id]
    assert len(short) >= 8
    soon = [
        a for a in fleet if a.next_run is not None and a.next_run <= now + dt.timedelta(minutes=1)
    ]
    assert len(soon) >= 3
    assert any(a.group == "documents" for a in soon)

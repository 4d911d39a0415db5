"""The README's configuration table names every setting."""

from __future__ import annotations

from pathlib import Path

from control.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_table():
    text = README.read_text()
    missing = [
        f"DC_{name.upper()}" for name in Settings.model_fields if f"`DC_{name.upper()}`" not in text
    ]
    assert not missing, f"README configuration table lacks {missing}"


def test_quick_start_is_the_two_commands():
    text = README.read_text()
    start = text.index("## Quick start")
    block = text[start : text.index("```", text.index("```sh", start) + 5)]
    assert "make demo" in block
    assert "make test" in block

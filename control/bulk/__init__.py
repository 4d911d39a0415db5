"""Bulk jobs: one command applied to every app a filter matches, app by app."""

"""Peewee database dialects that peewee does not ship (Microsoft SQL Server)."""

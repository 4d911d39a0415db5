"""Pipelines: documents moving through their stages, and the figures about them."""

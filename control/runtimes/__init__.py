"""Runtimes: the runs of the fleet's apps, their outcome and function timings."""

"""``python -m control.cli``: the same as ``dcctl``."""

from control.cli import main

main()

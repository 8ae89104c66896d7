"""``python -m scripts.abtest``."""

from scripts.abtest.cli import main

main()

"""``python -m gridmaker``: the ``gridmaker`` command."""

from gridmaker.cli import main

if __name__ == "__main__":  # not when a spawned worker re-imports the main module
    main()

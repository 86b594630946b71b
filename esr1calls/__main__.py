"""`python -m esr1calls`: the same as the `esr1calls` command."""

from .cli import main

if __name__ == "__main__":
    main()

"""``python -m feedwright``: the ``feedwright`` command, for an environment
whose scripts folder is not on ``PATH``."""

from .cli import run

if __name__ == "__main__":
    run()

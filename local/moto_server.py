"""The moto server as its own process (the bench runs it so), with every fix of `local.moto_fidelity` (DynamoDB
writes serialized, transactions rolled back item by item, and the speed fixes). `python -m local.moto_server -H
host -p port`."""

from __future__ import annotations

import sys


def main() -> None:
    from moto.server import main as moto_main

    from local.moto_fidelity import every_fix

    every_fix()
    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()

"""The moto server as its own process (the bench runs it so), with the fidelity fixes of `local.moto_fidelity`:
DynamoDB writes serialized, transactions rolled back item by item; and
its speed fixes (`faster_answers`). `python -m local.moto_server -H host -p port`."""

from __future__ import annotations

import sys


def main() -> None:
    from moto.server import main as moto_main

    from local.moto_fidelity import bench_fixes

    bench_fixes()
    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()

"""python -m app.worker: the same as `derivlab worker`."""

from app.cli import main

if __name__ == "__main__":
    import sys

    sys.argv[1:1] = ["worker"]
    main()

"""python -m app.worker: the same as `derivlab worker`."""

from app.worker.run import main

if __name__ == "__main__":
    main()

"""python -m app.cli: the same as `derivlab`."""

from app.cli import main

main()

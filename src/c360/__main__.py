"""``python -m c360`` is the ``c360`` command."""

from c360.cli.main import main

main()

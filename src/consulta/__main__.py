"""`python -m consulta ...` runs the `consulta` command."""

from consulta.cli import main

main(prog_name="consulta")

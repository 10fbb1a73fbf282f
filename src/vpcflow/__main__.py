"""``python -m vpcflow`` runs the CLI."""

from vpcflow.cli import main

main()

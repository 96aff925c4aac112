"""``python -m agentmap`` runs the CLI."""

from agentmap.cli.app import main

main()

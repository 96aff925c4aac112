"""The ``agentmap`` command: a thin typer + rich layer over ``agentmap``'s Python API."""

"""A custom agent as an AgentMap project keeps it, in agentmap_data/custom_agents/."""

from collections.abc import Mapping
from typing import Any

from agentmap import Agent


class GreeterAgent(Agent):
    """Greets whoever ``name`` is."""

    def process(self, inputs: Mapping[str, Any]) -> Any:
        return f"Hello, {inputs['name']}!"

"""Gathers its inputs into one sorted list, as a parallel example's aggregator does."""

from agentmap.agents.base_agent import BaseAgent


class CollectorAgent(BaseAgent):
    """Returns the values of its inputs, in the order its Input_Fields list them."""

    def process(self, inputs):
        self.log_info(f"collecting {len(inputs)} values")
        return [inputs[key] for key in inputs]

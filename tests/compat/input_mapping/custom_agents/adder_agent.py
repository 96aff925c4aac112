"""Custom agents as an AgentMap project writes them: against AgentMap's BaseAgent."""

from typing import Any

from agentmap.agents.base_agent import BaseAgent


class AdderAgent(BaseAgent):
    """Adds two numbers, whatever the state calls them: they arrive as addend_a and addend_b."""

    expected_params = ["addend_a", "addend_b"]  # noqa: RUF012 (a list, as AgentMap writes it)

    def process(self, inputs: dict[str, Any]) -> Any:
        first = inputs.get("addend_a") or 0
        second = inputs.get("addend_b") or 0
        self.log_debug(f"adding {first} and {second}")
        return first + second


class RunningTotal(BaseAgent):
    """Sums every input; its type is declared as 'tally' in custom_agents.yaml."""

    def __init__(
        self,
        name,
        prompt,
        context=None,
        logger=None,
        execution_tracking_service=None,
        state_adapter_service=None,
    ):
        super().__init__(
            name, prompt, context, logger, execution_tracking_service, state_adapter_service
        )
        self.start: int | None = self.context.get("start", 0)

    def process(self, inputs: dict[str, Any]) -> Any:
        return self.start + sum(value or 0 for value in inputs.values())

"""Model-calling agents: providers, the llm/openai/anthropic agents, memory, orchestration."""

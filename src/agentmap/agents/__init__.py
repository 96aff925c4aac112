"""Agents: the base class, the built-in types and the catalog that finds custom ones."""

"""Graphs: the model, reading graph files, and checking them before a run."""

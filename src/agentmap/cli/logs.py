"""Send the library's log records to stderr, at the configured level or what -v asks for —
every line redacted (``agentmap.secrets``), traceback included."""

from __future__ import annotations

import logging
import sys

from agentmap.config import LoggingSettings
from agentmap.secrets import RedactingFormatter


def configure_logging(settings: LoggingSettings, verbose: int) -> None:
    """One stderr handler on the ``agentmap`` logger; ``-v`` → INFO, ``-vv`` → DEBUG."""
    level = logging.getLevelName(settings.level)
    if verbose:
        level = min(level, logging.INFO if verbose == 1 else logging.DEBUG)
    logger = logging.getLogger("agentmap")
    for handler in list(logger.handlers):
        if getattr(handler, "_agentmap_cli", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(settings.format))
    handler._agentmap_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)

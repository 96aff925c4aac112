"""pydantic's validation errors in our words: what is wrong, without pydantic's own prefixes.

Config settings and the graph model are pydantic models; whoever catches their
``ValidationError`` turns each of its errors into a line with these functions, so a
message never reads ``Value error, ...`` or ends in a link to pydantic's docs — nor echoes a
secret (``error_input``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentmap.secrets import is_secret_field, masked, redact

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

_RAISED = ("value_error", "assertion_error")
"""Error types of an exception a validator raised: its own message is the one to show."""


def error_text(error: ErrorDetails) -> str:
    """What is wrong, as our validator said it (``ctx["error"]``) or as pydantic words it.

    >>> from pydantic import BaseModel, field_validator
    >>> class Settings(BaseModel):
    ...     port: int
    ...     @field_validator("port")
    ...     @classmethod
    ...     def _low(cls, value: int) -> int:
    ...         raise ValueError("ports below 1024 need root — pick 8080")
    >>> from pydantic import ValidationError
    >>> try:
    ...     Settings(port=80)
    ... except ValidationError as exc:
    ...     print(error_text(exc.errors()[0]))
    ports below 1024 need root — pick 8080
    """
    cause = error.get("ctx", {}).get("error")
    if error["type"] in _RAISED and isinstance(cause, BaseException):
        return str(getattr(cause, "message", None) or cause)
    return error["msg"]


def error_key(error: ErrorDetails) -> str:
    """The dotted key the error is at (``execution.retry``), or ``""`` for the whole value."""
    return ".".join(str(part) for part in error["loc"])


def error_input(error: ErrorDetails) -> str | None:
    """The value the error is about, as it may be shown; None for the value of a secret field
    (``api_key``, or any name ending in key, token, secret or password), which never is.

    Secret fields inside the value are masked, and what is left is redacted.

    >>> error_input({"type": "string_type", "loc": ("llm", "openai", "api_key"),
    ...              "msg": "Input should be a valid string", "input": ["sk-123"]}) is None
    True
    >>> error_input({"type": "model_type", "loc": ("llm", "openai"),
    ...              "msg": "Input should be an object", "input": [{"api_key": "sk-123"}]})
    "[{'api_key': '***'}]"
    """
    if any(isinstance(part, str) and is_secret_field(part) for part in error["loc"]):
        return None
    return redact(repr(masked(error.get("input"))))

"""API keys: ``Authorization: Bearer <key>``, checked against SHA-256 hashes in constant time.

Keys come from ``server.api_keys`` (hashes, so a config file in git holds no secret) and from
the variable ``server.api_keys_env`` names (plain text, comma-separated). A key never appears in
a response, an error or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from fastapi import HTTPException, Request

from agentmap.config import ServerSettings
from agentmap.secrets import remember


def hash_key(key: str) -> str:
    """The hash to put in ``server.api_keys`` for ``key``."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


class Keys:
    """The accepted keys' hashes."""

    def __init__(self, settings: ServerSettings, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        plain = [key.strip() for key in env.get(settings.api_keys_env, "").split(",")]
        remember(*plain)  # redacted wherever it might be written (agentmap.secrets)
        self.hashes = {*settings.api_keys, *(hash_key(key) for key in plain if key)}

    @property
    def required(self) -> bool:
        """Whether requests need a key at all (some key is set)."""
        return bool(self.hashes)

    def check(self, request: Request) -> None:
        """Refuse (401) a request without an accepted key, when keys are set."""
        if not self.required:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise HTTPException(
                401,
                "this service needs an API key: send Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        offered = hash_key(given.strip())
        if not any(hmac.compare_digest(offered, known) for known in self.hashes):
            raise HTTPException(
                401,
                "the API key is not one this service accepts",
                headers={"WWW-Authenticate": "Bearer"},
            )

"""Text tools for the tool_agent compatibility graphs (plain functions: no decorator needed)."""


def shout(text: str) -> str:
    """Turn text into capital letters."""
    return text.upper()


def mirror(text: str) -> str:
    """Write text back to front."""
    return text[::-1]


def tally(text: str) -> int:
    """Count the words in text."""
    return len(text.split())


def join_words(first: str, second: str) -> str:
    """Put two words together with a dash."""
    return f"{first}-{second}"

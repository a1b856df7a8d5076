"""Python tools for the CLI end-to-end specs."""


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


async def slow_echo(text: str) -> str:
    """Echo text back, asynchronously."""
    return f"echo:{text}"


def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom {reason}")

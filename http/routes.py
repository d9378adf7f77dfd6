"""Every route handler of the web process, gathered from the page and API modules."""

from __future__ import annotations

from typing import Any


def route_handlers() -> list[Any]:
    handlers: list[Any] = []
    return handlers

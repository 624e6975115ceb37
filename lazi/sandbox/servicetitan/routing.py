"""Path matching with ASP.NET routing rules: case-insensitive, optional trailing slash, and
literal segments win over parameters (so /customers/contacts is not /customers/{id})."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    n_params: int
    target: Any


class Router:
    def __init__(self) -> None:
        self._routes: dict[str, list[Route]] = {}

    def add(self, method: str, template: str, target: Any) -> None:
        # Templates hold only letters, digits, '/', '-' and {params}: no escaping needed.
        regex = _PARAM.sub(r"(?P<\1>[^/]+)", template)
        route = Route(
            method.upper(),
            template,
            re.compile(f"^{regex}/?$", re.IGNORECASE),
            len(_PARAM.findall(template)),
            target,
        )
        routes = self._routes.setdefault(route.method, [])
        routes.append(route)
        routes.sort(key=lambda r: r.n_params)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes.get(method.upper(), ()):
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

"""Error responses in the shapes ServiceTitan clients actually receive.

- Application errors (400/401/403/404/409/500) use the spec's ApiErrorResponse, an RFC 7807
  problem document with `errors` and `data` always present.
- Gateway errors (unknown route, 429, 502, 503) come from Azure API Management, which fronts
  the ServiceTitan APIs; APIM answers with {"statusCode": n, "message": "..."}.
- The token endpoint is an OAuth2 server and answers {"error": "..."} per RFC 6749.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json; charset=utf-8"


class Rejected(Exception):
    """Ends a request early with a ready-made error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    401: "https://tools.ietf.org/html/rfc7235#section-3.1",
    403: "https://tools.ietf.org/html/rfc7231#section-6.5.3",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    409: "https://tools.ietf.org/html/rfc7231#section-6.5.8",
    415: "https://tools.ietf.org/html/rfc7231#section-6.5.13",
    500: "https://tools.ietf.org/html/rfc7231#section-6.6.1",
}
VALIDATION_TITLE = "One or more validation errors occurred."


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def trace_id() -> str:
    # W3C traceparent format, which is what ASP.NET puts in ProblemDetails.traceId.
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def api_error(
    status: int,
    title: str,
    errors: dict[str, list[str]] | None = None,
    data: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "type": PROBLEM_TYPES.get(status, PROBLEM_TYPES[400]),
        "title": title,
        "status": status,
        "traceId": trace_id(),
        "errors": errors or {},
        "data": data or {},
    }
    return json_response(body, status, headers)


def validation_error(errors: dict[str, list[str]]) -> Response:
    return api_error(400, VALIDATION_TITLE, errors)


def not_found(what: str, ident: object) -> Response:
    return api_error(404, f"{what} with ID {ident} not found.")


def gateway_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"statusCode": status, "message": message}, status, headers)


def route_not_found() -> Response:
    return gateway_error(404, "Resource not found")


def rate_limited(retry_after_s: float) -> Response:
    seconds = max(1, math.ceil(retry_after_s))
    return gateway_error(
        429,
        f"Rate limit is exceeded. Try again in {seconds} seconds.",
        headers={"Retry-After": str(seconds)},
    )


def unauthorized(description: str) -> Response:
    # ASP.NET's JWT handler explains the failure in WWW-Authenticate; the body is the usual
    # problem document so that clients reading `title` get something useful.
    return api_error(
        401,
        "Unauthorized",
        data={"reason": description},
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
    )


def oauth_error(error: str, status: int = 400) -> Response:
    return json_response({"error": error}, status, headers={"Cache-Control": "no-store"})

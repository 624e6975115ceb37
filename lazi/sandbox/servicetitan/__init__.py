"""ServiceTitan stand-in: `create_app(world, ...)` builds the FastAPI app."""

from lazi.sandbox.servicetitan.app import ServiceTitanState, create_app

__all__ = ["ServiceTitanState", "create_app"]

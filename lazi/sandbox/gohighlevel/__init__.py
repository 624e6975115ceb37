"""GoHighLevel (LeadConnector API v2) stand-in. See app.create_app."""

from lazi.sandbox.gohighlevel.app import create_app

__all__ = ["create_app"]

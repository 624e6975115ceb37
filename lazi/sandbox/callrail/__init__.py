"""CallRail API v3 stand-in. See app.create_app."""

from lazi.sandbox.callrail.app import create_app

__all__ = ["create_app"]

"""Redirects point at BASE_URL, never at the Host a request named."""
from urllib.parse import urlsplit

from flask import current_app

REDIRECTS = (301, 302, 303, 307, 308)


def rebase(response):
    """After a request: rebuild a redirect's Location (werkzeug's merged slashes) on the public URL."""
    location = response.headers.get("Location")
    if response.status_code in REDIRECTS and location:
        parts = urlsplit(location)
        base = current_app.extensions["fitq"].settings.public_url
        response.headers["Location"] = base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return response

"""WSGI entry point: `app = create_app()`."""

from expertpool import create_app

app = create_app()

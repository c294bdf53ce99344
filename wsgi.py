"""The one place that builds an app at import time: `flask --app wsgi` and gunicorn use it."""

from app import create_app

app = create_app()

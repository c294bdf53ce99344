"""The one place that builds an app at import time: `flask --app wsgi` and gunicorn use it."""

import gc

from app import create_app

app = create_app()

# Everything built so far (modules, the app, its routes and templates' code) lives as long
# as the process: move it out of the collector's generations, so the full collections a
# worker's requests trigger do not walk it again (a first request paid ~0.2 s for one).
gc.freeze()

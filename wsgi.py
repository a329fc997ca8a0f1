"""WSGI entry point: `app = create_app()`."""

from expertpool import create_app
from expertpool.matching.warmup import start_warm_up

app = create_app()
if app.config["WARM_UP"]:  # `make run` sets it; command-line tasks leave it off
    start_warm_up(app)

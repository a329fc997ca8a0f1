"""WSGI entry point: `app = create_app()`."""

from expertpool import create_app
from expertpool.matching.warmup import start_warm_up

app = create_app()
# `make run` and the systemd unit set WARM_UP; command-line tasks leave it off. gunicorn's
# master (preload_app) waits for this thread before forking, so the workers share what it loaded.
warm_up_thread = start_warm_up(app) if app.config["WARM_UP"] else None

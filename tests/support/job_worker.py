"""A job worker in a process of its own, for the kill -9 test.

`python -m tests.support.job_worker CONFIG_JSON INSTANCE_PATH` runs a database-backend worker of
an app built from that configuration, with a task `test.hold` that reports progress and then
holds its job until the process is killed.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from expertpool import create_app
from expertpool.core.jobs import JobContext, register_task
from expertpool.core.jobs.queue import Worker


def hold(ctx: JobContext, **_args: Any) -> None:
    ctx.progress(1, 2, stage="holding")
    threading.Event().wait()  # until kill -9


def main() -> None:
    config, instance = json.loads(sys.argv[1]), sys.argv[2]
    app = create_app(config, instance_path=instance)
    register_task(app, "test.hold", hold)
    Worker(app, name="doomed").run()


if __name__ == "__main__":
    main()

"""RQ's settings module (rq worker --config jobssettings), imported as the worker starts."""
import os

REDIS_URL = os.environ["REDIS_URL"]

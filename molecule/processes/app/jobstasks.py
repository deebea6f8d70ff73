"""The jobs the worker runs; VERSION is what a deploy changes."""
import os

VERSION = "v1"


def square(x):
    return {"square": x * x, "version": VERSION, "release": os.environ.get("FLASKOPS_RELEASE_ID"),
            "instance": os.environ.get("FLASKOPS_INSTANCE")}

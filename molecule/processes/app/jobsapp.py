"""A Flask app with an RQ queue: the web process enqueues, the worker processes run the jobs.

The web process never imports the tasks (it enqueues them by name), as in most
apps whose workers need more than the web does.
"""
import os

import click
from flask import Flask, jsonify, request, url_for
from redis import Redis
from rq import Queue
from rq.job import Job


def create_app():
    app = Flask(__name__)
    redis = Redis.from_url(os.environ["REDIS_URL"])
    queue = Queue("jobs", connection=redis)

    # What every scenario's shared tests ask of an app (the seed's promises).
    @app.get("/")
    def index():
        return f"<h1>{os.environ.get('HELLO_GREETING', 'Hello')} from flaskops.deploy</h1>"

    @app.get("/whoami")
    def whoami():
        return jsonify(remote_addr=request.remote_addr, scheme=request.scheme, host=request.host,
                       external_url=url_for("whoami", _external=True))

    @app.get("/headers")
    def headers():
        environ = request.environ
        return jsonify({key: value for key, value in environ.items()
                        if key.startswith("HTTP_") or key in ("REMOTE_ADDR", "SERVER_PORT", "wsgi.url_scheme")})

    @app.get("/health")
    def health():
        redis.ping()
        return "ok\n"

    @app.post("/jobs")
    def enqueue():
        job = queue.enqueue("jobstasks.square", int(request.args.get("x", "2")))
        return jsonify(id=job.id), 202

    @app.get("/jobs/<job_id>")
    def result(job_id):
        job = Job.fetch(job_id, connection=redis)
        return jsonify(status=str(job.get_status()), result=job.return_value())

    @app.get("/schema")
    def schema():
        return (redis.get("jobsapp:schema") or b"none").decode() + "\n"

    @app.cli.command("migrate")
    def migrate():
        """The release command: record the schema this release brings."""
        version = open(os.path.join(os.path.dirname(__file__), "SCHEMA"), encoding="utf-8").read().strip()
        redis.set("jobsapp:schema", version)
        redis.rpush("jobsapp:migrations", f"{version} {os.environ.get('FLASKOPS_RELEASE_ID', '?')}")
        click.echo(f"migrated to {version}")

    return app

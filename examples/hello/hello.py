"""The sample app flaskops.deploy ships for its demo and tests.

It is a plain Flask app with no deployment code in it: the collection wraps it in
ProxyFix from outside. Its endpoints show what the app sees of each request.
"""
import os
import time

from flask import Flask, jsonify, request, url_for
from flask_sock import Sock

__version__ = "1.0.0"


def create_app():
    """Application factory (deploy with wsgi: 'hello:create_app()')."""
    application = Flask(__name__, instance_relative_config=True)
    # Settings kept on the host, in Flask's instance folder (instance/ beside
    # the code; <venv>/var/hello-instance/ when installed), if there are any.
    application.config.from_pyfile("settings.cfg", silent=True)

    @application.get("/")
    def index():
        greeting = os.environ.get("HELLO_GREETING", "Hello")
        return (
            "<!doctype html><title>hello</title>"
            f'<link rel="stylesheet" href="{url_for("static", filename="style.css")}">'
            f"<h1>{greeting} from flaskops.deploy</h1>"
            '<p>See <a href="/whoami">/whoami</a> for what the app sees of this request.</p>'
        )

    @application.get("/whoami")
    def whoami():
        """The request as the app sees it, after ProxyFix."""
        return jsonify(
            remote_addr=request.remote_addr,
            scheme=request.scheme,
            host=request.host,
            url_root=request.url_root,
            external_url=url_for("whoami", _external=True),
            greeting=os.environ.get("HELLO_GREETING"),
            pid=os.getpid(),
            version=__version__,
            motd=application.config.get("MOTD"),
        )

    @application.get("/headers")
    def headers():
        """The request's headers in the WSGI environ as the app gets it (after
        ProxyFix, which keeps them but for Host), and the address and port."""
        environ = request.environ
        return jsonify({key: value for key, value in environ.items()
                        if key.startswith("HTTP_") or key in ("REMOTE_ADDR", "SERVER_PORT", "wsgi.url_scheme")})

    @application.get("/stream")
    def stream():
        """Four server-sent events, ?gap= seconds apart (default 1); with ?html=1
        the same lines as an HTML page that renders as it comes."""
        gap = min(float(request.args.get("gap", "1")), 10.0)
        mimetype = "text/html" if request.args.get("html") else "text/event-stream"

        def events():
            for number in range(1, 5):
                if number > 1:
                    time.sleep(gap)
                yield f"data: {number}\n\n"

        return application.response_class(events(), mimetype=mimetype)

    @Sock(application).route("/echo")
    def echo(websocket):
        """A WebSocket that sends back each message it gets."""
        while True:
            websocket.send(websocket.receive())

    @application.get("/health")
    def health():
        return jsonify(status="ok", version=__version__)

    @application.get("/version")
    def version():
        return __version__ + "\n", 200, {"Content-Type": "text/plain"}

    return application


app = create_app()

"""Where a release's static files are: run by flaskops.deploy.release (tasks/static.yml)
in the release's own Python, as the app user, with the app's environment and its
working directory, after the release is built and its shared paths are linked.

    python static_folder.py FIND WSGI STATIC_URL RELEASE_DIR

FIND is the app's static_find (JSON): {"app": true} loads the app the way Gunicorn
does (WSGI, the same spec) and asks a Flask app for its static folder and URL;
{"package": NAME, "path": PATH} finds that folder of an installed package without
loading the app. The answer is the last line, `flaskops-static {"folder": ..., "why":
...}`: the folder relative to RELEASE_DIR when it is inside it (or absolute), or null
and why not. The process ends right after it, whatever threads the app started.
"""
import importlib.util
import json
import os
import sys

MARK = "flaskops-static"


def answer(folder=None, why=""):
    if folder is not None:
        folder = os.path.realpath(folder)
        release = os.path.realpath(sys.argv[4])
        if folder.startswith(release + os.sep):
            folder = os.path.relpath(folder, release)
    sys.stdout.write("\n%s %s\n" % (MARK, json.dumps({"folder": folder, "why": why})))
    sys.stdout.flush()
    os._exit(0)


def package_folder(name, path):
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as error:
        answer(why="package %s cannot be found: %s" % (name, error))
    if spec is None:
        answer(why="no package %s is installed in the release" % name)
    locations = list(spec.submodule_search_locations or [os.path.dirname(spec.origin or "")])
    folder = os.path.join(locations[0], path)
    if not os.path.isdir(folder):
        answer(why="package %s has no folder %s (%s)" % (name, path, folder))
    answer(folder, "the folder %s of the package %s" % (path, name))


def app_folder(wsgi, static_url):
    from gunicorn.util import import_app

    try:
        app = import_app(wsgi)
    except BaseException as error:  # pylint: disable=broad-except
        answer(why="the app did not load here (%s: %s); its health check says more" % (type(error).__name__, error))
    # Through middleware that keeps what it wraps as .app (ProxyFix does).
    for _attempt in range(5):
        if hasattr(app, "static_folder") or not hasattr(app, "app"):
            break
        app = app.app
    folder = getattr(app, "static_folder", None)
    if not folder:
        answer(why="it is not a Flask app with a static folder (%s)" % type(app).__name__)
    url = (getattr(app, "static_url_path", None) or "").rstrip("/") + "/"
    if url != static_url:
        answer(why="the app's static URL is %s, not static_url %s: set flaskops_app.static_url: %s for nginx "
                   "to serve them" % (url, static_url, url))
    if not os.path.isdir(folder):
        answer(why="the app's static folder %s does not exist" % folder)
    answer(folder, "the app's static folder")


def main():
    find = json.loads(sys.argv[1])
    if "package" in find:
        package_folder(find["package"], find["path"])
    app_folder(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()

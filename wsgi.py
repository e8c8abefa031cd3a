"""WSGI entry point: `gunicorn wsgi:app` and `flask --app wsgi ...`."""
import gc

from workflow import create_app

app = create_app()
# What the app holds for its lifetime (templates, translations, mappers) leaves the garbage collector's
# generations: a full collection then walks only a request's own objects, not some 200,000 more every time.
gc.freeze()

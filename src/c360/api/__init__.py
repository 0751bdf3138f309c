"""The HTTP API (FastAPI): thin handlers over :class:`c360.workspace.Workspace`.

Every request acts for a principal (a bearer token) and one of its purposes
(``X-C360-Purpose``); data about people is read only through the governed read
path, so the same masking and row filters apply as everywhere else; every request
is audited; errors are JSON ``{code, message, details}``. ``c360 serve`` runs it
with uvicorn; OpenAPI is at ``/docs``.
"""

from c360.api.app import create_app

__all__ = ["create_app"]

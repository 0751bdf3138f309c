"""The web console at ``/``: server-rendered pages (Jinja2, vendored htmx, no build step)
over the same workspace façade and governed read path as the API.

Pages: login (an API token opens a session), the agent desktop (search, the golden
record masked for the role, consent per purpose and channel with reasons), steward
review (pairs side by side, approve / reject), and consent administration for the
Privacy role. Forms carry a per-session CSRF token; every page view is audited by the
application's middleware like any API request.
"""

from c360.console.pages import router

__all__ = ["router"]

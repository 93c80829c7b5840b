"""Running as a JupyterHub-managed service: students are who the Hub says they are, by OAuth.

JupyterHub starts a managed service with its settings in the environment (JUPYTERHUB_API_TOKEN,
JUPYTERHUB_API_URL, JUPYTERHUB_CLIENT_ID, JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_SERVICE_URL,
JUPYTERHUB_OAUTH_CALLBACK_URL, JUPYTERHUB_OAUTH_ACCESS_SCOPES). JupyterHub's own Tornado mixin,
`HubOAuthenticated`, then identifies a request:

- from a browser, by the OAuth cookie this service sets after the Hub's login (the page redirects
  to the Hub when there is none); requests that change something must carry the XSRF token the
  page was served with;
- from a notebook, by the user's own Hub token in `Authorization: token ...` (JUPYTERHUB_API_TOKEN
  of their server, when the Hub gives that token the scope `access:services!service=<name>`).

A user may use the service when the Hub grants them `access:services!service=<name>` (README:
JupyterHub). Their Hub name is their student id, as nbgrader on a Hub has it. Roster tokens keep
working beside the Hub (autograder.service.handlers).
"""
from __future__ import annotations

import os
from urllib.parse import urlparse


def detected() -> bool:
    """Whether this process was started by JupyterHub as a managed service."""
    return bool(os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("JUPYTERHUB_SERVICE_PREFIX"))


def bind() -> tuple[str | None, int | None, str | None]:
    """(host, port, path prefix) the Hub asks the service to listen on, from its environment."""
    url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    parsed = urlparse(url) if url else None
    return (parsed.hostname if parsed else None, parsed.port if parsed else None,
            os.environ.get("JUPYTERHUB_SERVICE_PREFIX"))


def oauth():
    """A HubOAuth configured from the Hub's environment (raises ImportError without jupyterhub)."""
    from jupyterhub.services.auth import HubOAuth

    return HubOAuth(cache_max_age=60)


def mixin_and_callback():
    """(the mixin the service's handlers take on in Hub mode, the OAuth callback's handler)."""
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated

    return HubOAuthenticated, HubOAuthCallbackHandler

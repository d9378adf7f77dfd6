"""What the web app gives a browser to join a media room: a room token, ICE servers, the signalling path.

The media service is reached on the web app's own origin at `/media/ws`
(in-process in `consulta dev`; behind the reverse proxy in production), so
the pages' Content-Security-Policy (`connect-src 'self'`) covers it.
"""

from __future__ import annotations

from typing import Any

from consulta.http.pages_common import AnyRequest, now_of
from consulta.media.config import MediaConfig
from consulta.media.tokens import issue_token

SIGNALLING_PATH = "/media/ws"


def media_config_of(app: Any) -> MediaConfig:
    if "media_config" not in app.state:
        settings = app.state.settings
        app.state.media_config = MediaConfig.from_env(settings.secret_key, settings.base_url)
    return app.state.media_config  # type: ignore[no-any-return]


def media_grant(request: AnyRequest, room: str, participant: str, role: str) -> dict[str, Any]:
    config = media_config_of(request.app)
    now = now_of(request).timestamp()
    return {
        "token": issue_token(config.key, room, participant, role, now, config.token_ttl_seconds),
        "ice_servers": config.ice_servers(participant, now),
        "path": SIGNALLING_PATH,
    }

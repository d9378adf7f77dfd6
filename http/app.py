"""The Litestar application: pages, JSON API, health checks.

`create_app(settings)` builds it; the lifespan starts the process's
`Services` (event store, read models, position watcher) unless the caller
passes its own (tests do, to share them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, Request, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

from consulta.clock import Clock
from consulta.http.api import api_openapi_config
from consulta.http.audit import AuditMiddleware
from consulta.http.auth import ApiTokens
from consulta.http.errors import EXCEPTION_HANDLERS
from consulta.http.pages_format import configure as configure_pages
from consulta.http.routes import route_handlers
from consulta.http.security import SessionTimeoutMiddleware, add_security_headers, session_config
from consulta.services import Services
from consulta.settings import Settings

HERE = Path(__file__).resolve().parent


def make_store(settings: Settings, namespace: str) -> Store:
    """Redis when REDIS_URL is set (shared by every web process), memory otherwise (dev only)."""
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=settings.redis_url, namespace=f"consulta:{namespace}")
    if not settings.is_dev:
        raise RuntimeError("REDIS_URL must be set outside dev and test: sessions must be shared")
    return MemoryStore()


def template_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    configure_pages(env)  # per-request gettext (fr/en) and time helpers
    return env


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@get("/readyz", include_in_schema=False, sync_to_thread=True)
def readyz(request: Request[Any, Any, Any]) -> Any:
    from litestar import Response

    services: Services = request.app.state.services
    try:
        positions = services.reads.positions()
        head = services.app.recorder.max_notification_id() or 0
    except Exception:  # any database failure means not ready
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    lag = {name: head - position for name, position in positions.items()}
    return {"status": "ready", "database": "ok", "log_head": head, "projection_lag": lag}


def create_app(
    settings: Settings,
    services: Services | None = None,
    *,
    run_projections: bool = False,
    clock: Clock | None = None,
) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = services is None
        current = services or Services.start(settings, clock)
        if own and run_projections:
            current.run_projections()
        app.state.services = current
        try:
            yield
        finally:
            if own:
                current.close()

    sessions = make_store(settings, "sessions")
    secure = not settings.is_dev
    session = session_config(secure, settings.session_idle_minutes * 60)
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="__Host-csrftoken" if secure else "csrftoken",
        cookie_secure=secure,
        cookie_httponly=True,  # scripts read the token from the form, never from the cookie
        cookie_samesite="strict",
        exclude=["/api/"],
    )
    engine = JinjaTemplateEngine.from_environment(template_environment())
    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            *route_handlers(),
            create_static_files_router(
                path="/static", directories=[HERE / "static"], include_in_schema=False
            ),
        ],
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "api_tokens": ApiTokens(make_store(settings, "api"), settings.api_token_hours * 3600),
            }
        ),
        stores={"sessions": sessions},
        middleware=[session.middleware, SessionTimeoutMiddleware, AuditMiddleware],
        before_send=[add_security_headers],
        csrf_config=csrf,
        template_config=TemplateConfig(instance=engine),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=api_openapi_config(),  # the JSON API's description (http/api.py)
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )

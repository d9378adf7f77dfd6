"""The baseline page: a bare Litestar app rendering a Jinja template of a given size.

`/bare/<name>` renders `BARE_PAGES_DIR/<name>.html` line by line through a Jinja
loop, so its answer has the same bytes as the page it stands beside, with no
database, session, CSRF or translation work. Served by uvicorn, like Consulta:

    uvicorn bare_page:app --app-dir bench --port N   (BARE_PAGES_DIR=...)
"""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import DictLoader, Environment
from litestar import Litestar, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

PAGES = Path(os.environ.get("BARE_PAGES_DIR", "."))
TEMPLATE = "<!-- bare -->\n{% for line in lines %}{{ line|safe }}\n{% endfor %}"
environment = Environment(loader=DictLoader({"bare.html.j2": TEMPLATE}), autoescape=True)
LINES = {p.stem: p.read_text().splitlines() for p in PAGES.glob("*.html")}


@get("/bare/{name:str}", sync_to_thread=False)
def bare(name: str) -> Template:
    return Template("bare.html.j2", context={"lines": LINES[name]})


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "alive"}


app = Litestar(
    route_handlers=[bare, healthz],
    template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
    debug=False,
)

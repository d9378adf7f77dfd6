"""The dev inbox: messages `consulta dev` sent to nobody (e-mail and SMS), to read them. Dev and test only."""

from __future__ import annotations

from typing import Any

import psycopg
from litestar import get
from litestar.exceptions import NotFoundException
from litestar.response import Template
from psycopg import sql
from psycopg.rows import dict_row

from consulta.http.pages_common import AnyRequest, page, services_of
from consulta.workers.email import DEV_INBOX, create_dev_inbox


def inbox_messages(database_url: str, schema: str, limit: int = 200) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        create_dev_inbox(conn, schema)
        cur = conn.cursor(row_factory=dict_row)
        return cur.execute(
            sql.SQL(
                "SELECT channel, recipient, subject, body, created_at FROM {}.{} ORDER BY id DESC LIMIT %s"
            ).format(sql.Identifier(schema), sql.Identifier(DEV_INBOX)),
            (limit,),
        ).fetchall()


@get("/dev/inbox", sync_to_thread=True, name="dev_inbox")
def dev_inbox(request: AnyRequest) -> Template:
    settings = services_of(request).settings
    if not settings.is_dev:
        raise NotFoundException()
    return page("dev_inbox.html.j2", messages=inbox_messages(settings.database_url, settings.read_schema))


HANDLERS = [dev_inbox]

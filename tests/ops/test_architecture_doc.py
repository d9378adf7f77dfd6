"""docs/architecture.md stays true about the read models it lists."""

from __future__ import annotations

import re

from consulta.projections import PROJECTIONS
from tests.ops.conftest import ROOT


def test_the_projection_table_names_every_projection_and_its_tables() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `([a-z_]+)` \| ([^|]*) \|", doc, re.MULTILINE)}
    for name, cls in PROJECTIONS.items():
        assert name in rows, f"docs/architecture.md: add projection {name} to the projections table"
        listed = set(re.findall(r"`([a-z_]+)`", rows[name]))
        unnamed = {t for t in cls.tables if t not in listed and not t.startswith("notify_")}
        assert not unnamed, f"docs/architecture.md: {name} also has {sorted(unnamed)}"

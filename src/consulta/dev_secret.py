"""`consulta dev`'s secret key, kept in its data folder so that a restart keeps it.

TOTP secrets and teleconsultation invitations are sealed with a key derived
from `CONSULTA_SECRET_KEY` (consulta.sealing). A key made afresh at each start
would leave every dev account that enrolled an authenticator app unable to log
in after a restart. So the first start writes a random key to
`.consulta/secret_key` (mode 0600, beside the embedded PostgreSQL's data) and
later starts read it back; deleting `.consulta/` starts again from nothing,
database and key together. `CONSULTA_SECRET_KEY`, when set, wins and nothing
is written. Production never reads this file: it refuses to start without the
variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"


def dev_secret_key(folder: Path) -> str:
    """The key kept in `folder`, made (and written) on the first call."""
    path = folder / FILE_NAME
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept = path.read_text().strip()
        if not kept:
            raise RuntimeError(
                f"{path} is empty: delete it to make a new key (sealed data is then lost)"
            ) from None
        return kept
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key

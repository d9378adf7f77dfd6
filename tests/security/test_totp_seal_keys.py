"""The keys that seal TOTP secrets: their own HKDF label, one blob per account, a dev key kept across restarts."""

from __future__ import annotations

import stat
from pathlib import Path
from uuid import uuid4

import pytest

from consulta.aggregates.errors import InvalidInputError
from consulta.aggregates.identity import Identity
from consulta.dev_secret import dev_secret_key
from consulta.invitation_seal import SealError
from consulta.invitation_seal import open_sealed as open_invitation
from consulta.invitation_seal import seal as seal_invitation
from consulta.sealing import from_text, to_text
from consulta.totp_seal import SecondFactorKeyError, TotpSeal

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_a_sealed_secret_opens_for_its_account_with_its_key_only() -> None:
    account = uuid4()
    blob = TotpSeal("key-one").seal(account, SECRET)
    assert blob.startswith("v1:") and SECRET not in blob
    assert TotpSeal("key-one").seal(account, SECRET) != blob, "a fresh nonce each time"
    assert TotpSeal("key-one").open(account, blob) == SECRET
    for key, owner in (("key-two", account), ("key-one", uuid4())):
        with pytest.raises(SecondFactorKeyError, match="secret key changed"):
            TotpSeal(key).open(owner, blob)
    raw = bytearray(from_text(blob[3:]))
    raw[-1] ^= 1
    with pytest.raises(SecondFactorKeyError):
        TotpSeal("key-one").open(account, "v1:" + to_text(bytes(raw)))  # altered
    with pytest.raises(SecondFactorKeyError, match="does not know"):
        TotpSeal("key-one").open(account, "v2:" + blob[3:])
    assert TotpSeal("key-one").open(account, SECRET) == SECRET, "no prefix: recorded in clear before sealing"


def test_the_totp_key_is_not_the_invitation_key() -> None:
    """Same secret, same 16-byte id: a blob of one kind never opens as the other (different HKDF labels)."""
    owner = uuid4()
    invitation = seal_invitation("same-secret", owner, "ABCDE-12345", "link")
    with pytest.raises(SecondFactorKeyError):
        TotpSeal("same-secret").open(owner, "v1:" + to_text(from_text(invitation)[1:]))
    totp = TotpSeal("same-secret").seal(owner, SECRET)
    with pytest.raises(SealError, match="cannot be opened"):
        open_invitation("same-secret", owner, to_text(bytes([1]) + from_text(totp[3:])))


def test_the_identity_records_only_a_sealed_secret() -> None:
    identity = Identity(account_id=uuid4())
    with pytest.raises(InvalidInputError):
        identity.enable_totp(SECRET, 1)
    identity.enable_totp(TotpSeal("k").seal(identity.account_id, SECRET), 1)
    assert identity.totp_secret is not None and identity.totp_secret.startswith("v1:")


def test_dev_keeps_its_key_in_its_data_folder(tmp_path: Path) -> None:
    folder = tmp_path / ".consulta"
    first = dev_secret_key(folder)
    assert len(first) >= 40
    assert dev_secret_key(folder) == first, "a restart reads the same key back"
    assert stat.S_IMODE((folder / "secret_key").stat().st_mode) == 0o600
    assert dev_secret_key(tmp_path / "elsewhere") != first
    (folder / "secret_key").write_text("")
    with pytest.raises(RuntimeError, match="empty"):
        dev_secret_key(folder)

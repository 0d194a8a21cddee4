"""`portal keys rotate`: re-encrypt every PHI value under the current key.

Values sealed with an older key (or written before encryption, in plain text) are read with
the key their id names and sealed again with the current one, in small transactions, so the
rotation can run on a live system and be resumed. Afterwards the old key can be dropped from
PHI_ENCRYPTION_KEYS.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa

from kernel.database import Database
from models.audit.queries import append
from models.base import Base
from portal.ops.progress import progress
from security.audit import AuditRecord
from security.phi import PREFIX, EncryptedText, Keyring


def encrypted_columns() -> list[tuple[sa.Table, sa.Column[Any]]]:
    """Every column of every table whose type is `EncryptedText`."""
    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def _rotate_batch(
    db: Database, keyring: Keyring, table: sa.Table, column: sa.Column[Any], batch: int
) -> int:
    (pk,) = table.primary_key.columns
    raw = sa.type_coerce(column, sa.Text)  # the stored text, not decrypted
    context = cast(EncryptedText, column.type).context
    # Leave updated_at & co. as they are: re-sealing changes no content.
    unchanged = {c.name: c for c in table.columns if c.onupdate is not None}

    def work(session: sa.orm.Session) -> int:
        rows = session.execute(
            sa.select(pk, raw)
            .where(
                raw.is_not(None),
                sa.not_(raw.startswith(f"{PREFIX}:{keyring.current_id}:", autoescape=True)),
            )
            .order_by(pk)
            .limit(batch)
        ).all()
        for row_id, stored in rows:
            sealed = keyring.encrypt(keyring.decrypt(str(stored), context), context)
            session.execute(
                sa.update(table)
                .where(pk == row_id)
                .values({column.name: sa.type_coerce(sealed, sa.Text), **unchanged})
            )
        return len(rows)

    return db.run(work)


def _stale_count(db: Database, keyring: Keyring, table: sa.Table, column: sa.Column[Any]) -> int:
    raw = sa.type_coerce(column, sa.Text)
    stale = sa.not_(raw.startswith(f"{PREFIX}:{keyring.current_id}:", autoescape=True))
    return int(
        db.run(
            lambda session: session.scalar(
                sa.select(sa.func.count()).select_from(table).where(raw.is_not(None), stale)
            )
        )
        or 0
    )


def rotate(db: Database, keyring: Keyring, *, batch: int = 500) -> dict[str, int]:
    """Re-seal every value not under the current key; returns counts per column."""
    columns = encrypted_columns()
    total = sum(_stale_count(db, keyring, table, column) for table, column in columns)
    counts: dict[str, int] = {}
    with progress("re-encrypting", total, "values") as bar:
        for table, column in columns:
            name = f"{table.name}.{column.name}"
            counts[name] = 0
            while done := _rotate_batch(db, keyring, table, column, batch):
                counts[name] += done
                bar.update(done)
                if done < batch:
                    break
    record = AuditRecord(
        action="ROTATE_PHI_KEYS",
        resource="system",
        status="success",
        details={"currentKeyId": keyring.current_id, **counts},
    )
    db.run(lambda session: append(session, record))
    return counts

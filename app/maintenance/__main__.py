"""`python -m app.maintenance backup [DEST]` and `... restore FILE [--yes]`, which
scripts/backup and scripts/restore run.

Not a `flask` command: neither needs the app (nor its secret key), and a restore must work
when the app cannot start. Both read DATABASE_URL as the app does.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from app.maintenance import backup as backups


@click.command("backup")
@click.argument("dest", required=False, type=click.Path())
def backup_command(dest: str | None) -> None:
    """Back up the database DATABASE_URL names (default: instance/founderpath.db) to DEST,
    a file or a directory (default: backups/), with its manifest beside it."""
    try:
        path, manifest = backups.backup(backups.database_url_from_environment(), dest)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup written to {path}")
    click.echo(f"Manifest: {backups.manifest_path(path)}")
    for line in summarise(manifest):
        click.echo(line)


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace a database that already holds tables.")
def restore_command(file: Path, yes: bool) -> None:
    """Restore the backup FILE into the database DATABASE_URL names (default:
    instance/founderpath.db), then check it against FILE's manifest. Stop the app first."""
    try:
        manifest = backups.restore(file, backups.database_url_from_environment(), overwrite=yes)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {file}; tables, row counts and balances match its manifest.")
    for line in summarise(manifest):
        click.echo(line)


def summarise(manifest: dict[str, Any]) -> list[str]:
    """A few lines on a manifest: revision, rows per non-empty table, the money balances."""
    tables = manifest["tables"]
    filled = {name: count for name, count in tables.items() if count}
    lines = [
        f"{manifest['engine']} database {manifest.get('database', '')}, "
        f"revision {manifest['alembic_revision']}: {len(tables)} tables "
        f"({len(tables) - len(filled)} empty), {sum(tables.values())} rows"
    ]
    lines += [f"  {name:<32} {count:>10}" for name, count in sorted(filled.items())]
    lines.append("Balances (yuan):")
    for key, value in manifest["balances_fen"].items():
        if isinstance(value, dict):
            lines += [f"  {key}[{code}] {_yuan(fen)}" for code, fen in value.items()]
        else:
            lines.append(f"  {key} {_yuan(value)}")
    return lines


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else f"{Decimal(fen).scaleb(-2):,.2f}"


COMMANDS = {"backup": backup_command, "restore": restore_command}


def main(arguments: list[str]) -> None:
    """Run `backup` or `restore`, its messages naming the script the operator typed."""
    if not arguments or arguments[0] not in COMMANDS:
        sys.exit(f"usage: python -m app.maintenance {{{'|'.join(COMMANDS)}}} [ARGUMENTS]")
    COMMANDS[arguments[0]].main(arguments[1:], prog_name=f"scripts/{arguments[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Command-line groups (`flask --app wsgi ...`): users, regions, demo.

Commands are thin: they call operations and commit once, like a request.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from app.auth import operations as auth_operations
from app.auth.queries import has_any_user
from app.core.db import MAX_ID
from app.core.errors import DomainError, ValidationFailed
from app.core.permissions import Role
from app.extensions import db
from app.regions.operations import import_regions_csv
from config import write_private_file

users_cli = click.Group("users", help="Manage user accounts.")
regions_cli = click.Group("regions", help="Manage the region tree.")
demo_cli = click.Group("demo", help="Demonstration data.")


def _fail(error: DomainError) -> None:
    db.session.rollback()
    if isinstance(error, ValidationFailed):
        for field, messages in error.errors.items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
    else:
        click.echo(error.message, err=True)
    sys.exit(1)


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--region", "region_code", required=True, help="Six-digit region code.")
@click.option(
    "--founder",
    "founder_id",
    type=click.IntRange(1, MAX_ID),
    default=None,
    help="Founder id (founders).",
)
@click.option("--name", "display_name", default="", help="Full name shown in the interface.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for when not given.",
)
def create_user_command(
    username: str,
    role: str,
    region_code: str,
    founder_id: int | None,
    display_name: str,
    password: str,
) -> None:
    """Create the account USERNAME."""
    try:
        user = auth_operations.create_user(
            None,
            username=username,
            password=password,
            role=role,
            region_code=region_code,
            founder_id=founder_id,
            display_name=display_name,
        )
    except DomainError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(f"Created {user.role} {user.username} in region {user.region_code} (id {user.id}).")


@regions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_regions_command(path: Path) -> None:
    """Add or rename regions from a CSV file (code,name,level,parent_code,name_en)."""
    result = import_regions_csv(None, path.read_text(encoding="utf-8-sig"))
    if result.errors:
        db.session.rollback()
        for error in result.errors:
            click.echo(f"row {error['row']}, {error['field']}: {error['message']}", err=True)
        click.echo(f"Nothing imported: {len(result.errors)} problem(s).", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(
        f"Regions imported: {result.created} created, {result.updated} renamed, "
        f"{result.unchanged} unchanged."
    )


DEMO_ACCOUNTS = (
    ("admin", Role.ADMIN, "460000", "系统管理员"),
    ("staff.hainan", Role.STAFF, "460000", "王海燕（省创业指导中心）"),
    ("staff.haikou", Role.STAFF, "460100", "李明（海口市创业指导中心）"),
    ("officer.haikou", Role.OFFICER, "460100", "陈志强（海口担保中心）"),
    ("founder.demo", Role.FOUNDER, "460100", "林小红（创业者）"),
)


@demo_cli.command("seed")
def seed_demo_command() -> None:
    """On an empty database, create one demo account per role and print the logins."""
    if current_app.config.get("ENV_NAME") == "production":
        click.echo("Demo accounts are never created in production.", err=True)
        sys.exit(1)
    if has_any_user():
        click.echo("Accounts exist already; demo accounts not created.")
        return
    logins = []
    for username, role, region_code, display_name in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        auth_operations.create_user(
            None,
            username=username,
            password=password,
            role=role,
            region_code=region_code,
            display_name=display_name,
        )
        logins.append((username, role, region_code, password))
    db.session.commit()
    lines = [f"{u:<16} {r:<8} {c}  password: {p}" for u, r, c, p in logins]
    note = Path(current_app.instance_path) / "demo-logins.txt"
    write_private_file(note, "\n".join(lines) + "\n")
    click.echo("Demo accounts (also saved to instance/demo-logins.txt):")
    for line in lines:
        click.echo("  " + line)


def register_commands(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    for group in (users_cli, regions_cli, demo_cli):
        app.cli.add_command(group)

"""Command-line groups (`flask --app wsgi ...`): users, regions, demo, loans, jobs, and
the `scheduler` command.

Commands are thin: they call operations and commit once, like a request.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app

from app.auth import operations as auth_operations
from app.auth.queries import has_any_user
from app.core.dates import today_in_china
from app.core.db import MAX_ID
from app.core.errors import DomainError, ValidationFailed
from app.core.permissions import Role
from app.demo.seed import DEFAULT_FOUNDERS, DemoSeedRefused, ProgressBar, seed_demo_data
from app.extensions import db
from app.regions.operations import import_regions_csv
from config import write_private_file

users_cli = click.Group("users", help="Manage user accounts.")
regions_cli = click.Group("regions", help="Manage the region tree.")
demo_cli = click.Group("demo", help="Demonstration data.")
loans_cli = click.Group("loans", help="Loan servicing.")
jobs_cli = click.Group("jobs", help="Scheduled jobs: run one by hand, list them.")


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


# Above this many founders the seed shows a progress bar.
PROGRESS_THRESHOLD = 10_000


@demo_cli.command("seed")
@click.option(
    "--founders",
    "founder_count",
    type=click.IntRange(1, 10_000_000),
    default=DEFAULT_FOUNDERS,
    show_default=True,
    help="Number of synthetic founders (with training records).",
)
def seed_demo_command(founder_count: int) -> None:
    """On an empty database, create demo data and one account per role; print the logins."""
    if current_app.config.get("ENV_NAME") == "production":
        click.echo("Demo accounts are never created in production.", err=True)
        sys.exit(1)
    if has_any_user():
        click.echo("Accounts exist already; demo accounts not created.")
        return
    progress = _progress_bar if founder_count >= PROGRESS_THRESHOLD else None
    try:
        summary = seed_demo_data(
            as_of=today_in_china(), founder_count=founder_count, progress=progress
        )
    except DemoSeedRefused as error:
        db.session.rollback()
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo("Demo data: " + ", ".join(f"{n} {what}" for what, n in summary.counts.items()))
    click.echo(
        "Seconds per stage: "
        + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in summary.seconds.items())
        + f" (total {sum(summary.seconds.values()):.1f})"
    )
    lines = [
        f"{login.username:<16} {login.role:<8} {login.region_code}  password: {login.password}"
        for login in summary.logins
    ]
    note = Path(current_app.instance_path) / "demo-logins.txt"
    write_private_file(note, "\n".join(lines) + "\n")
    click.echo("Demo accounts (also saved to instance/demo-logins.txt):")
    for line in lines:
        click.echo("  " + line)


@loans_cli.command("sweep")
@click.option(
    "--date",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Close of business for this day (YYYY-MM-DD); today in China by default.",
)
def sweep_loans_command(as_of: datetime | None) -> None:
    """Run the daily loan sweep (days past due, buckets, defaults, integrity events) for a
    day; safe to run again for the same day. The scheduler runs it inside the daily job."""
    from app.loans.jobs import sweep

    day = as_of.date() if as_of is not None else today_in_china()
    counts = sweep(day)
    db.session.commit()
    click.echo(
        f"Loan sweep for {day.isoformat()}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    )


@loans_cli.command("reconcile")
@click.option(
    "--region",
    "region_code",
    default=None,
    help="Only this region's loans (a province's include its cities').",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Nothing may be dated after this day (YYYY-MM-DD); today in China by default.",
)
def reconcile_loans_command(region_code: str | None, as_of: datetime | None) -> None:
    """Check every loan's allocations, schedule, outstanding principal and fund entries
    against its postings, read-only. Prints a line per check and per difference; exits 1
    when anything differs."""
    from sqlalchemy.engine import Engine

    from app.loans.reconcile import reconcile_loans
    from app.regions.queries import get_region, region_codes_in

    if isinstance(db.session.get_bind(), Engine) and db.engine.dialect.name == "postgresql":
        # One snapshot for every statement, so postings made meanwhile cannot look like
        # differences.
        db.session.connection(
            execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
    day = as_of.date() if as_of is not None else today_in_china()
    codes = None
    if region_code is not None:
        if get_region(region_code) is None:
            raise click.BadParameter(f"no region {region_code!r}.", param_hint="--region")
        codes = region_codes_in(region_code)
    result = reconcile_loans(as_of=day, region_codes=codes)
    db.session.rollback()
    where = f"region {region_code}" if region_code else "all regions"
    click.echo(f"Loan reconciliation as of {day.isoformat()}, {where}:")
    for summary in result.summaries:
        click.echo(
            f"  {summary.check:<27} {_count(summary.loans_checked, 'loan'):>14} checked, "
            f"{_count(summary.differences, 'difference')}  ({summary.description})"
        )
    if result.is_clean:
        click.echo("No differences: every loan reconciles.")
        return
    loans = len({difference.loan_id for difference in result.differences})
    click.echo(f"{_count(len(result.differences), 'difference')} in {_count(loans, 'loan')}:")
    for difference in result.differences:
        click.echo(
            f"  loan {difference.loan_id}: {difference.check}: {difference.subject}: "
            f"expected {_shown(difference.expected)}, found {_shown(difference.found)}"
        )
    sys.exit(1)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _shown(value: Any) -> str:
    """A value of a reconciliation difference as the report prints it."""
    from datetime import date
    from decimal import Decimal

    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _run_line(run: Any) -> str:
    finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "-"
    return (
        f"{run.job} for {run.as_of.isoformat()}: {run.status} (attempt {run.attempts}, "
        f"{run.trigger} by {run.holder}; started {run.started_at.isoformat(timespec='seconds')}"
        f", finished {finished})"
    )


@jobs_cli.command("run")
@click.argument("name")
@click.option(
    "--date",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The date to run the job for (YYYY-MM-DD); today in China by default.",
)
def run_job_command(name: str, as_of: datetime | None) -> None:
    """Run the job NAME for a date, now, in this process (safe to repeat: a rerun of a
    date updates its record). Prints the run record; exits 1 when the run fails."""
    import os
    import socket

    from app.scheduler.registry import find_job, job_names
    from app.scheduler.runner import run_job, scheduler_today

    if find_job(name) is None:
        click.echo(f"No job called {name!r}. Jobs: {', '.join(job_names())}.", err=True)
        sys.exit(1)
    today = scheduler_today()
    day = as_of.date() if as_of is not None else today
    if day > today:
        click.echo(f"--date {day.isoformat()} is in the future (today is {today}).", err=True)
        sys.exit(1)
    holder = f"cli:{socket.gethostname()}:{os.getpid()}"
    try:
        run = run_job(name, day, trigger="manual", holder=holder)
    except DomainError as error:
        _fail(error)
        return
    click.echo(_run_line(run))
    for step, counts in run.counts.items():
        click.echo(f"  {step}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if run.status != "succeeded":
        click.echo(run.error, err=True)
        sys.exit(1)


@jobs_cli.command("list")
def list_jobs_command() -> None:
    """The registered jobs, their steps, schedules and latest runs."""
    from app.scheduler.queries import job_overview

    for row in job_overview():
        last_success = row.last_success.isoformat() if row.last_success else "never"
        latest = f"{row.latest.as_of} {row.latest.status}" if row.latest else "none"
        click.echo(
            f"{row.job.name:<10} {row.job.cadence:<8} last success {last_success}; "
            f"latest run {latest}; steps: {', '.join(row.job.step_names)}"
        )


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler in this process until stopped (SIGTERM or Ctrl-C): it takes the
    database lease, or waits as a standby while another scheduler holds it."""
    from app.scheduler.service import run_scheduler

    run_scheduler(current_app._get_current_object())


def _progress_bar(label: str, length: int) -> AbstractContextManager[ProgressBar]:
    return click.progressbar(length=length, label=label)


def register_commands(app: Flask) -> None:
    """Attach every command group to the app's CLI."""
    for group in (users_cli, regions_cli, demo_cli, loans_cli, jobs_cli, scheduler_command):
        app.cli.add_command(group)

"""The `flask users` and `flask demo` commands."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.auth.operations import authenticate
from app.cli import create_user_command, seed_demo_command
from app.demo.seed import DEMO_ACCOUNTS
from app.extensions import db
from app.founders.models import Founder
from tests.factories import make_founder


def test_users_create_with_password_option(app, db_session):
    result = app.test_cli_runner().invoke(
        create_user_command,
        ["wu.lei", "--role", "officer", "--region", "460200", "--password", "a fine password 1"],
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "wu.lei"))
    assert (user.role, user.region_code) == ("officer", "460200")


def test_users_create_prompts_for_the_password(app, db_session):
    founder = make_founder(region_code="460100")
    db.session.commit()
    result = app.test_cli_runner().invoke(
        create_user_command,
        ["zhou.min", "--role", "founder", "--region", "460100", "--founder", str(founder.id)],
        input="typed password 123\ntyped password 123\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "zhou.min"))
    assert user.founder_id == founder.id
    assert authenticate("zhou.min", "typed password 123", ip_address=None).user is not None


def test_users_create_reports_bad_input_and_writes_nothing(app, db_session):
    result = app.test_cli_runner().invoke(
        create_user_command,
        ["bad.region", "--role", "staff", "--region", "000000", "--password", "a fine password"],
    )
    assert result.exit_code == 1
    assert "region_code" in result.output
    assert db.session.scalar(select(User).where(User.username == "bad.region")) is None


def _login_lines(output):
    return [line.split() for line in output.splitlines() if "password:" in line]


def test_demo_seed_creates_one_account_per_role_once(app, db_session, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    runner = app.test_cli_runner()
    result = runner.invoke(seed_demo_command, ["--founders", "40"])
    assert result.exit_code == 0, result.output
    assert "40 founders" in result.output
    demo_usernames = [account[0] for account in DEMO_ACCOUNTS]
    roles = dict(
        db.session.execute(
            select(User.role, func.count())
            .where(User.username.in_(demo_usernames))
            .group_by(User.role)
        ).all()
    )
    assert roles == {"admin": 1, "staff": 2, "officer": 2, "founder": 1}
    # Some business owners and loan officers have accounts of their own, with passwords
    # nobody knows yet.
    users_after_first_seed = db.session.scalar(select(func.count()).select_from(User))
    assert users_after_first_seed >= len(DEMO_ACCOUNTS) == 6
    logins = _login_lines(result.output)
    assert len(logins) == 6
    for fields in logins:
        username, password = fields[0], fields[-1]
        assert authenticate(username, password, ip_address=None).user is not None
    assert (tmp_path / "demo-logins.txt").read_text(encoding="utf-8").count("password:") == 6
    founder_account = db.session.scalar(select(User).where(User.username == "founder.demo"))
    assert founder_account.founder_id is not None
    again = runner.invoke(seed_demo_command, ["--founders", "40"])
    assert "not created" in again.output
    assert db.session.scalar(select(func.count()).select_from(User)) == users_after_first_seed
    assert db.session.scalar(select(func.count()).select_from(Founder)) == 40


def test_demo_seed_refuses_in_production(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result = app.test_cli_runner().invoke(seed_demo_command, ["--founders", "5"])
    assert result.exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(Founder)) == 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_seed_refuses_when_founders_exist_without_accounts(app, db_session):
    make_founder(region_code="460100")
    db.session.commit()
    result = app.test_cli_runner().invoke(seed_demo_command, ["--founders", "5"])
    assert result.exit_code == 1
    assert "Founders exist already" in result.output
    assert db.session.scalar(select(func.count()).select_from(Founder)) == 1
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_seed_rejects_a_founder_count_below_one(app, db_session):
    result = app.test_cli_runner().invoke(seed_demo_command, ["--founders", "0"])
    assert result.exit_code == 2
    assert db.session.scalar(select(func.count()).select_from(User)) == 0

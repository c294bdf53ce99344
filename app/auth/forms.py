"""Sign-in, account and user-administration forms (pages and API share them)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Field, Form, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.auth.operations import (
    EMAIL_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    is_well_formed_email,
)
from app.core.db import MAX_ID
from app.core.forms import AppForm, empty_to_none, strip, with_blank
from app.core.permissions import Role
from app.regions.forms import KnownRegion

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.STAFF: _l("Centre staff"),
    Role.OFFICER: _l("Loan guarantee officer"),
    Role.FOUNDER: _l("Founder"),
}


# Tells browsers and password managers to offer a generated password, not a saved one.
NEW_PASSWORD = {"autocomplete": "new-password"}


def role_choices() -> list[SelectChoice]:
    """The role select box's options."""
    return [SelectChoice(role.value, str(ROLE_LABELS[role])) for role in Role]


class WellFormedEmail:
    """An e-mail address of the usual shape (name@domain.tld); no deliverability check."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and not is_well_formed_email(field.data):
            raise ValidationError(str(_l("Enter an e-mail address like name@example.com.")))


def email_field() -> StringField:
    """The optional address reminders are e-mailed to."""
    return StringField(
        _l("E-mail"),
        filters=[strip, empty_to_none],
        validators=[Optional(), Length(max=EMAIL_MAX_LENGTH), WellFormedEmail()],
        description=_l("Optional: reminders are also sent here when e-mail is set up."),
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )


class LoginForm(AppForm):
    """Username and password; no hints about which one was wrong."""

    username = StringField(
        _l("Username"),
        filters=[strip],
        validators=[InputRequired(), Length(max=64)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )


class TokenRequestForm(LoginForm):
    """POST /api/v1/auth/token body."""


class UserCreateForm(AppForm):
    """A new account."""

    username = StringField(
        _l("Username"), filters=[strip], validators=[InputRequired(), Length(min=3, max=64)]
    )
    display_name = StringField(_l("Full name"), filters=[strip], validators=[Length(max=100)])
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)],
        render_kw=NEW_PASSWORD,
    )
    role = SelectField(_l("Role"), choices=role_choices, validators=[InputRequired()])
    region_code = SelectField(
        _l("Region"), validators=[InputRequired(), KnownRegion()], validate_choice=False
    )
    founder_id = IntegerField(
        _l("Founder id"),
        filters=[empty_to_none],
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        description=_l("Only for founder accounts: the founder's id in the register."),
    )
    email = email_field()


class UserEditForm(AppForm):
    """Changes an administrator may make to an account."""

    display_name = StringField(_l("Full name"), filters=[strip], validators=[Length(max=100)])
    role = SelectField(_l("Role"), choices=role_choices, validators=[InputRequired()])
    region_code = SelectField(
        _l("Region"), validators=[InputRequired(), KnownRegion()], validate_choice=False
    )
    founder_id = IntegerField(
        _l("Founder id"),
        filters=[empty_to_none],
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
    )
    email = email_field()
    active = BooleanField(_l("Active"))


class PasswordResetForm(AppForm):
    """An administrator sets a new password for someone."""

    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)],
        render_kw=NEW_PASSWORD,
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ChangePasswordForm(AppForm):
    """A user changes their own password."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[InputRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)],
        render_kw=NEW_PASSWORD,
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class UserFilterForm(AppForm):
    """Filters of the user list (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[strip], validators=[Optional(), Length(max=64)])
    role = SelectField(
        _l("Role"), choices=lambda: with_blank(role_choices()), validators=[Optional()]
    )
    region_code = SelectField(_l("Region"), validators=[Optional()], validate_choice=False)
    status = SelectField(
        _l("Status"),
        choices=lambda: with_blank(
            [
                SelectChoice("active", str(_l("Active"))),
                SelectChoice("inactive", str(_l("Inactive"))),
            ]
        ),
        validators=[Optional()],
    )

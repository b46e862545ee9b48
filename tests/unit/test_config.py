"""Settings: every SPEC name, its default, and one clear message naming the variable to fix."""

from __future__ import annotations

import pytest

from bot.config import Mode, load_settings
from bot.errors import ConfigError

KEY = "k" * 64
BASE = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_APP_TOKEN": "xapp-1",
    "KAZOO_URL": "https://pbx.example.com:8443/v2",
    "KAZOO_API_KEY": KEY,
}


def load(mode: Mode = Mode.RUN, **overrides: str | None) -> object:
    env = {**BASE, **{k: v for k, v in overrides.items() if v is not None}}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
    return load_settings(mode, env=env, env_file=None)


def error(mode: Mode = Mode.RUN, **overrides: str | None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(mode, **overrides)
    return info.value


def test_defaults() -> None:
    settings = load_settings(Mode.RUN, env=BASE, env_file=None)
    assert settings.SLACK_API_URL == "https://slack.com/api/"
    assert settings.CONFBOT_HTTP_PORT == 3000
    assert settings.CONFBOT_DATABASE_URL == "sqlite:///confbot.db"
    assert settings.admins == () and settings.moderators == ()
    assert settings.CONFBOT_TIMEZONE == "UTC"
    assert settings.CONFBOT_MISFIRE_GRACE == 300
    assert settings.CONFBOT_LOG_FORMAT == "text"
    assert settings.CONFBOT_COMMAND == "/conf"
    assert settings.socket_mode


def test_lists_are_split() -> None:
    settings = load_settings(
        Mode.RUN,
        env={**BASE, "CONFBOT_ADMINS": "U1, S2 ,", "CONFBOT_MODERATORS": "U3"},
        env_file=None,
    )
    assert settings.admins == ("U1", "S2") and settings.moderators == ("U3",)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"KAZOO_URL": None}, "KAZOO_URL"),
        ({"KAZOO_URL": "pbx.example.com"}, "KAZOO_URL"),
        ({"KAZOO_API_KEY": None}, "KAZOO_API_KEY"),
        ({"KAZOO_API_KEY": "short"}, "KAZOO_API_KEY"),
        ({"KAZOO_USERNAME": "ada"}, "KAZOO_USERNAME"),
        ({"KAZOO_API_KEY": None, "KAZOO_USERNAME": "ada"}, "KAZOO_PASSWORD"),
        ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"SLACK_APP_TOKEN": None}, "SLACK_SIGNING_SECRET"),
        ({"CONFBOT_TIMEZONE": "Mars/Olympus"}, "CONFBOT_TIMEZONE"),
        ({"CONFBOT_LOG_FORMAT": "xml"}, "CONFBOT_LOG_FORMAT"),
        ({"CONFBOT_HTTP_PORT": "http"}, "CONFBOT_HTTP_PORT"),
        ({"CONFBOT_MISFIRE_GRACE": "-1"}, "CONFBOT_MISFIRE_GRACE"),
        ({"CONFBOT_COMMAND": "conf"}, "CONFBOT_COMMAND"),
        ({"KAZOO_WS_URL": "http://x"}, "KAZOO_WS_URL"),
    ],
)
def test_bad_settings_name_the_variable(overrides: dict[str, str | None], variable: str) -> None:
    exc = error(**overrides)
    assert exc.variable == variable
    assert variable in str(exc)


def test_user_credentials_work_without_an_api_key() -> None:
    settings = load_settings(
        Mode.RUN,
        env={
            **{k: v for k, v in BASE.items() if k != "KAZOO_API_KEY"},
            "KAZOO_USERNAME": "ada",
            "KAZOO_PASSWORD": "pw",
            "KAZOO_ACCOUNT_NAME": "Acme",
        },
        env_file=None,
    )
    assert not settings.kazoo_uses_api_key


def test_check_mode_does_not_need_a_signing_secret() -> None:
    assert load(Mode.CHECK, SLACK_APP_TOKEN=None) is not None


def test_secrets_are_listed_for_redaction_and_hidden_in_repr() -> None:
    settings = load_settings(Mode.RUN, env=BASE, env_file=None)
    assert KEY in settings.secrets() and "xoxb-1" in settings.secrets()
    assert KEY not in repr(settings)

"""Settings: the only module that reads the environment (or a `.env` file).

Names are fixed by SPEC section 2. A missing or contradictory setting becomes one `ConfigError` that
names the variable, so start-up stops with a message an operator can act on.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError


class Mode(StrEnum):
    """What the settings are checked for: each command needs a different subset."""

    RUN = "run"
    CHECK = "check"
    KAZOO_ONLY = "kazoo"


def _split_ids(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [str(v) for v in value] if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(item.strip() for item in items if item.strip())


class Settings(BaseSettings):
    """Every setting of SPEC section 2, with its default."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        frozen=True,
    )

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_API_URL: str = "https://slack.com/api/"
    CONFBOT_HTTP_PORT: int = Field(default=3000, ge=0, le=65535)

    KAZOO_URL: str | None = None
    KAZOO_WS_URL: str | None = None
    KAZOO_ACCOUNT_ID: str | None = None
    KAZOO_API_KEY: SecretStr | None = None
    KAZOO_USERNAME: str | None = None
    KAZOO_PASSWORD: SecretStr | None = None
    KAZOO_ACCOUNT_NAME: str | None = None

    CONFBOT_DATABASE_URL: str = "sqlite:///confbot.db"
    # NoDecode-free parsing: pydantic-settings would try JSON for tuples, so these stay strings and
    # are split by the properties below.
    CONFBOT_ADMINS: str = ""
    CONFBOT_MODERATORS: str = ""
    CONFBOT_TIMEZONE: str = "UTC"
    CONFBOT_MISFIRE_GRACE: float = Field(default=300.0, ge=0)
    CONFBOT_LOG_FORMAT: str = "text"
    CONFBOT_COMMAND: str = "/conf"

    @field_validator("CONFBOT_TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)"
            ) from exc
        return value

    @field_validator("CONFBOT_LOG_FORMAT")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError("must be 'text' or 'json'")
        return value

    @field_validator("CONFBOT_COMMAND")
    @classmethod
    def _command(cls, value: str) -> str:
        if not value.startswith("/") or len(value) < 2 or " " in value:
            raise ValueError("must be a slash command such as /conf")
        return value

    @field_validator("KAZOO_URL", "SLACK_API_URL")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("KAZOO_WS_URL")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    @property
    def admins(self) -> tuple[str, ...]:
        return _split_ids(self.CONFBOT_ADMINS)

    @property
    def moderators(self) -> tuple[str, ...]:
        return _split_ids(self.CONFBOT_MODERATORS)

    @property
    def timezone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.CONFBOT_TIMEZONE)

    @property
    def socket_mode(self) -> bool:
        return self.SLACK_APP_TOKEN is not None

    @property
    def kazoo_uses_api_key(self) -> bool:
        return self.KAZOO_API_KEY is not None

    def secrets(self) -> list[str]:
        """Every secret value, so log redaction can blank them wherever they appear."""
        values = [
            self.SLACK_BOT_TOKEN,
            self.SLACK_APP_TOKEN,
            self.SLACK_SIGNING_SECRET,
            self.KAZOO_API_KEY,
            self.KAZOO_PASSWORD,
        ]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

    def check(self, mode: Mode) -> Settings:
        """Raise `ConfigError` naming the first variable that is missing or contradicts another."""
        self._check_kazoo()
        if mode is Mode.KAZOO_ONLY:
            return self
        self._check_slack(mode)
        return self

    def _check_kazoo(self) -> None:
        if not self.KAZOO_URL:
            raise ConfigError("KAZOO_URL", "is required (the crossbar base URL including /v2)")
        user_fields = {
            "KAZOO_USERNAME": self.KAZOO_USERNAME,
            "KAZOO_PASSWORD": self.KAZOO_PASSWORD,
            "KAZOO_ACCOUNT_NAME": self.KAZOO_ACCOUNT_NAME,
        }
        given_user = [name for name, value in user_fields.items() if value]
        if self.KAZOO_API_KEY is not None:
            if given_user:
                raise ConfigError(
                    given_user[0],
                    "contradicts KAZOO_API_KEY: give either the API key or the user credentials",
                )
            if len(self.KAZOO_API_KEY.get_secret_value()) != 64:
                raise ConfigError("KAZOO_API_KEY", "must be exactly 64 characters")
            return
        if not given_user:
            raise ConfigError(
                "KAZOO_API_KEY",
                "is required (or KAZOO_USERNAME, KAZOO_PASSWORD and KAZOO_ACCOUNT_NAME)",
            )
        missing = [name for name, value in user_fields.items() if not value]
        if missing:
            raise ConfigError(missing[0], "is required with the other KAZOO_USERNAME credentials")

    def _check_slack(self, mode: Mode) -> None:
        token = self.SLACK_BOT_TOKEN
        if token is None or not token.get_secret_value():
            raise ConfigError("SLACK_BOT_TOKEN", "is required (the xoxb- bot token)")
        if not token.get_secret_value().startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
        app_token = self.SLACK_APP_TOKEN
        if app_token is not None and not app_token.get_secret_value().startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-")
        if app_token is None and self.SLACK_SIGNING_SECRET is None and mode is Mode.RUN:
            raise ConfigError(
                "SLACK_SIGNING_SECRET",
                "is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)",
            )


def load_settings(
    mode: Mode = Mode.RUN, *, env: Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> Settings:
    """Read and check the settings; any problem becomes one `ConfigError` naming the variable.

    `env` replaces the process environment (tests); `env_file=None` ignores any `.env` file.
    """
    kwargs: dict[str, Any] = {"_env_file": env_file}
    try:
        settings = _from_mapping(env, env_file) if env is not None else Settings(**kwargs)
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]) if first["loc"] else "configuration"
        raise ConfigError(variable, first["msg"]) from None
    return settings.check(mode)


def _from_mapping(env: Mapping[str, str], env_file: str | None) -> Settings:
    known = set(Settings.model_fields)
    values: dict[str, Any] = {k: v for k, v in env.items() if k in known}
    return Settings.model_validate({**values}, context={"env_file": env_file})

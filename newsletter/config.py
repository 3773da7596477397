"""Settings: built once at the edge (the CLI or the scheduler) and passed down, never global.

Layered as defaults < `.env` < environment; every variable has the `NEWSLETTER_` prefix.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsletter.errors import ConfigError


class SmtpSecurity(StrEnum):
    """How the SMTP connection is protected; never downgraded silently."""

    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


class Ranker(StrEnum):
    """How papers are ranked: by their words (the default), or by their meaning too (the
    `semantic` extra, see `ranking_semantic`)."""

    LEXICAL = "lexical"
    SEMANTIC = "semantic"


_DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}


class Settings(BaseSettings):
    """Every knob of a run. Paths are relative to the working directory."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSLETTER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    db: Path = Path("newsletter.db")
    subscribers: Path = Path("subscribers.yaml")
    outbox: Path = Path("outbox")
    templates: Path | None = None
    thumbnails: bool = False  # show each paper's Hugging Face thumbnail in the email
    ranker: Ranker = Ranker.LEXICAL

    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_timeout: float = Field(default=30.0, gt=0)
    # More than one connection is faster for long lists, but a crash may then leave one message
    # in flight per connection (each re-sent once, with its Message-ID); one keeps it to one.
    smtp_connections: int = Field(default=1, ge=1, le=16)
    hard_bounce_limit: int = Field(default=3, ge=1)
    rate_per_minute: int | None = Field(default=None, ge=1)
    rate_per_hour: int | None = Field(default=None, ge=1)
    from_address: str = Field(
        default="Paper digest <newsletter@localhost>", validation_alias="NEWSLETTER_FROM"
    )
    list_id: str = "papers.newsletter.localhost"
    unsubscribe: str | None = None  # a mailto: or https: address for List-Unsubscribe

    hf_base_url: str = "https://huggingface.co"
    arxiv_base_url: str = "https://export.arxiv.org"
    arxiv_rss_url: str = "https://rss.arxiv.org"
    http_timeout: float = Field(default=20.0, gt=0)
    http_attempts: int = Field(default=5, ge=1, le=20)  # tries per request before a source fails

    @field_validator("hf_base_url", "arxiv_base_url", "arxiv_rss_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("ranker")
    @classmethod
    def _ranker_installed(cls, value: Ranker) -> Ranker:
        if value is Ranker.SEMANTIC:
            from newsletter import ranking_semantic  # numpy and the ranker, only when asked for

            problem = ranking_semantic.unavailable()
            if problem:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _coherent_smtp(self) -> Settings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError(
                "NEWSLETTER_SMTP_USERNAME and NEWSLETTER_SMTP_PASSWORD must be set together"
            )
        if self.smtp_username is not None and self.smtp_security is SmtpSecurity.NONE:
            raise ValueError(
                "NEWSLETTER_SMTP_SECURITY=none would send the password in clear text; "
                "use starttls or tls"
            )
        return self

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or _DEFAULT_PORTS[self.smtp_security]


def load_settings(**overrides: object) -> Settings:
    """Build `Settings` from the environment and `.env`, turning problems into a `ConfigError`.

    The message names the variable; a secret's value never appears in it.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            where = "NEWSLETTER_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            if where == "NEWSLETTER_FROM_ADDRESS":
                where = "NEWSLETTER_FROM"
            lines.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None

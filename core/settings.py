"""Settings of a crm-kpi installation.

Each setting comes from the environment (`CRM_KPI_<NAME>`), else from the `[crm_kpi]`
section of `.dlt/config.toml`, else its default. Source settings (paths, tokens,
base URLs) are not here: each dlt source reads its own under `sources.<name>`.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from core.config import path_setting, secret, setting
from core.errors import SettingsError
from core.paths import PROJECT_ROOT


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "warehouse" / "data")
    # CRM_KPI_OBJECTIVES; unset: ./objectives.yml when there is one, else no objectives.
    objectives_path: Path | None = None
    reporting_currency: str = "EUR"
    gross_margin: Decimal = Decimal("1.0")
    fx_rates_path: Path | None = None
    timezone: str = "UTC"
    fiscal_year_start: int = 1
    weak_signal_k: float = 2.0
    sources: tuple[str, ...] = ()
    # Alerts: a Slack-compatible incoming webhook (a secret), the scorecard's address in
    # messages, and the share of a period during which "at risk" is not yet alerted.
    alert_webhook: str | None = field(default=None, repr=False)
    scorecard_url: str | None = None
    alert_grace_share: float = 0.1
    # Salt of the e-mail hashes in the marts (a secret); unset: one generated per data dir.
    pii_salt: str | None = field(default=None, repr=False)
    # DuckDB's memory for dbt's build; past it joins, aggregates and sorts spill to disk,
    # so a nightly run on a million deals fits in 2 GB (docs/performance.md).
    duckdb_memory_limit: str = "1200MB"
    # CRM_KPI_MANUAL_METRICS: the values of the manual metrics objectives.yml declares;
    # unset: manual_metrics.csv beside the objectives file when there is one, else none.
    manual_metrics_path: Path | None = None

    @property
    def build_db(self) -> Path:
        return self.data_dir / "build.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.data_dir / "serving.duckdb"

    @property
    def dlt_dir(self) -> Path:
        return self.data_dir / "dlt"

    @property
    def dbt_target_dir(self) -> Path:
        return self.data_dir / "dbt_target"

    def objectives_file(self) -> tuple[Path | None, bool]:
        """The objectives file to load, and whether its absence is an error.

        A file named by CRM_KPI_OBJECTIVES must exist; the default ./objectives.yml may
        be absent (then there are no objectives).
        """
        if self.objectives_path is not None:
            return self.objectives_path, True
        default = Path("objectives.yml").resolve()
        return (default if default.exists() else None), False

    def manual_metrics_file(self) -> tuple[Path | None, bool]:
        """The manual metrics' values file to load, and whether its absence is an error.

        A file named by CRM_KPI_MANUAL_METRICS must exist; the default, manual_metrics.csv
        beside the objectives file, may be absent (then no manual metric has a value).
        """
        if self.manual_metrics_path is not None:
            return self.manual_metrics_path, True
        objectives, _required = self.objectives_file()
        if objectives is None:
            return None, False
        default = objectives.parent / "manual_metrics.csv"
        return (default if default.exists() else None), False

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def default_as_of(self, now: datetime | None = None) -> date:
        """Yesterday in the reporting timezone: the last complete day of data."""
        now = now or datetime.now(tz=self.tz)
        return now.astimezone(self.tz).date() - timedelta(days=1)

    @classmethod
    def from_env(cls) -> Settings:
        from core.credentials import refuse_secrets_in_config

        # Before anything runs: a credential in config.toml is refused, not used.
        refuse_secrets_in_config()
        defaults = cls()
        currency = (setting("reporting_currency") or defaults.reporting_currency).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise SettingsError(
                f"CRM_KPI_REPORTING_CURRENCY={currency!r} is not a 3-letter ISO 4217 code "
                "such as EUR or USD."
            )
        margin_text = setting("gross_margin") or str(defaults.gross_margin)
        try:
            margin = Decimal(margin_text)
        except InvalidOperation:
            margin = Decimal(-1)
        if not (Decimal(0) < margin <= Decimal(1)):
            raise SettingsError(
                f"CRM_KPI_GROSS_MARGIN={margin_text!r} must be a number in (0, 1], "
                "for example 0.8 for 80 %."
            )
        tz_name = setting("timezone") or defaults.timezone
        try:
            zoneinfo.ZoneInfo(tz_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"CRM_KPI_TIMEZONE={tz_name!r} is not an IANA timezone such as "
                "'Europe/Paris' or 'UTC'."
            ) from None
        fy_text = setting("fiscal_year_start") or str(defaults.fiscal_year_start)
        if not fy_text.isdigit() or not 1 <= int(fy_text) <= 12:
            raise SettingsError(
                f"CRM_KPI_FISCAL_YEAR_START={fy_text!r} must be the number of the fiscal "
                "year's first month, 1 (January) to 12."
            )
        k_text = setting("weak_signal_k") or str(defaults.weak_signal_k)
        try:
            k = float(k_text)
        except ValueError:
            k = -1.0
        if k <= 0:
            raise SettingsError(f"CRM_KPI_WEAK_SIGNAL_K={k_text!r} must be a positive number.")
        grace_text = setting("alert_grace_share") or str(defaults.alert_grace_share)
        try:
            grace = float(grace_text)
        except ValueError:
            grace = -1.0
        if not 0 <= grace < 1:
            raise SettingsError(
                f"CRM_KPI_ALERT_GRACE_SHARE={grace_text!r} must be a share in [0, 1), such "
                "as 0.1 for the first 10 % of a period."
            )
        memory = (setting("duckdb_memory_limit") or defaults.duckdb_memory_limit).strip()
        # DuckDB's own forms: an amount (1200MB, 4GB, 4G, 2GiB) or a share of the machine
        amount = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT](?:i?B)?|%)", memory, re.I)
        if amount is None or float(amount[1]) <= 0 or (amount[2] == "%" and float(amount[1]) > 100):
            raise SettingsError(
                f"CRM_KPI_DUCKDB_MEMORY_LIMIT={memory!r} must be an amount of memory such "
                "as 1200MB or 4GB (or a share of the machine such as 50%), more than 0."
            )
        fx = setting("fx_rates")
        sources = tuple(
            s.strip().lower() for s in (setting("sources") or "").split(",") if s.strip()
        )
        return cls(
            data_dir=path_setting("data_dir", defaults.data_dir),
            objectives_path=path_setting("objectives", None),
            reporting_currency=currency,
            gross_margin=margin,
            fx_rates_path=Path(fx).expanduser().resolve() if fx else None,
            timezone=tz_name,
            fiscal_year_start=int(fy_text),
            weak_signal_k=k,
            sources=sources,
            alert_webhook=secret("alert_webhook"),
            scorecard_url=setting("scorecard_url"),
            alert_grace_share=grace,
            pii_salt=secret("pii_salt"),
            duckdb_memory_limit=memory,
            manual_metrics_path=path_setting("manual_metrics", None),
        )

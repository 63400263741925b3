"""Settings: one frozen value built once from defaults, the TOML file (``--config``) and CLI options,
then passed down. Nothing reads configuration from module state.

The TOML file (every key optional)::

    as_of = "2026-11-01"          # date the audit is judged at (default: today)
    policy = "nsa"                # verification window: nsa 90 days, medicaid 30, qhp 31 (monthly)
    max_age_days = 60             # overrides the policy's window
    fail_on = "error"             # error / warning / info / never
    max_download_mb = 2048        # a fetched file past this size stops the audit (exit 2)
    disabled_checks = ["language.ambiguous"]

    [policies]                    # more named windows, in days
    oregon_monthly = 31

    [service_area]
    states = ["OR"]
    counties = ["WA:Clark", "ID:Canyon"]   # STATE:County outside those states that are also served

    # Thresholds, per check id (`directory-audit checks` lists each check's options and defaults):
    [check_options."location.crowded_address"]
    max_providers = 25            # > this many distinct individuals at one street address: warning
    [check_options."location.provider_many_locations"]
    max_locations = 8             # one individual at > this many distinct locations: warning
    [check_options."location.phone_out_of_state"]
    border_km = 50.0              # a neighbouring state's area code serving a ZIP this close is fine
    [check_options."location.zip_unknown"]
    flag_decommissioned = false   # also report ZIPs the USPS data lists as no longer in use
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .errors import ConfigError

#: Verification windows in days. nsa: No Surprises Act (PHSA 2799A-5) verify every 90 days;
#: medicaid: 42 CFR 438.10(h) update within 30 days; qhp: 45 CFR 156.230(c) update at least monthly.
POLICIES: Mapping[str, int] = MappingProxyType({"nsa": 90, "medicaid": 30, "qhp": 31})

#: Counties of neighbouring states that border Oregon; their residents use Oregon networks.
OREGON_BORDER_COUNTIES = (
    "WA:Pacific", "WA:Wahkiakum", "WA:Cowlitz", "WA:Clark", "WA:Skamania", "WA:Klickitat",
    "WA:Benton", "WA:Walla Walla", "WA:Columbia", "WA:Asotin",
    "ID:Idaho", "ID:Adams", "ID:Washington", "ID:Payette", "ID:Canyon", "ID:Owyhee",
    "NV:Humboldt", "NV:Washoe", "CA:Del Norte", "CA:Siskiyou", "CA:Modoc",
)

FAIL_ON = ("error", "warning", "info", "never")


@dataclass(frozen=True)
class Settings:
    as_of: dt.date = field(default_factory=dt.date.today)
    policy: str = "nsa"
    max_age_days: int | None = None
    policies: Mapping[str, int] = field(default_factory=lambda: POLICIES)
    fail_on: str = "error"
    service_area_states: tuple[str, ...] = ("OR",)
    service_area_counties: tuple[str, ...] = OREGON_BORDER_COUNTIES
    disabled_checks: tuple[str, ...] = ()
    selected_checks: tuple[str, ...] = ()          # ids, families ("location") or factor items ("T1.i"); empty = all
    check_options: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    encoding: str = "utf-8"
    sheet: str | None = None
    mapping_file: Path | None = None
    nppes_file: Path | None = None
    leie_file: Path | None = None
    narrative_file: Path | None = None
    quiet: bool = False
    max_download_mb: float = 2048
    config_file: Path | None = None
    # The website loader (--profile): the site profile, the HTTP cache folder and whether to ignore
    # it (--cache, --refresh), the page cap (--max-pages), and where the WARC archive goes (--out).
    site_profile: Path | None = None
    http_cache_dir: Path | None = None
    http_refresh: bool | None = None
    max_pages: int | None = None
    archive_dir: Path | None = None

    @property
    def verification_window_days(self) -> int:
        if self.max_age_days is not None:
            return self.max_age_days
        return self.policies[self.policy]

    def options_for(self, check_id: str) -> Mapping[str, Any]:
        return self.check_options.get(check_id, {})

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def describe(self) -> dict[str, Any]:
        """The settings that shape results, for summary.json and the report cover."""
        return {
            "as_of": self.as_of.isoformat(),
            "policy": self.policy,
            "verification_window_days": self.verification_window_days,
            "fail_on": self.fail_on,
            "max_download_mb": self.max_download_mb,
            "service_area_states": list(self.service_area_states),
            "service_area_counties": list(self.service_area_counties),
            "disabled_checks": list(self.disabled_checks),
            "selected_checks": list(self.selected_checks),
            "check_options": {k: dict(v) for k, v in self.check_options.items()},
            "config_file": str(self.config_file) if self.config_file else None,
            "mapping_file": str(self.mapping_file) if self.mapping_file else None,
            "nppes_file": str(self.nppes_file) if self.nppes_file else None,
            "leie_file": str(self.leie_file) if self.leie_file else None,
            "narrative_file": str(self.narrative_file) if self.narrative_file else None,
            "site_profile": str(self.site_profile) if self.site_profile else None,
        }


def parse_date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{what}: found {value!r}, expected a date as YYYY-MM-DD.") from None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then the TOML file, then explicit overrides (CLI options; None means 'not given')."""
    values: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Settings file {path} does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Settings file {path} is not valid TOML: {exc}. "
                              "See the settings section of the README for the layout.") from None
        values = _from_toml(data, path)
        values["config_file"] = path
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "as_of" in values:
        values["as_of"] = parse_date(values["as_of"], "as_of")
    settings = Settings(**values)
    _validate(settings)
    return settings


_TOP_KEYS = {"as_of", "policy", "max_age_days", "fail_on", "disabled_checks", "selected_checks",
             "policies", "service_area", "check_options", "encoding", "sheet", "max_download_mb"}


def _from_toml(data: dict[str, Any], path: Path) -> dict[str, Any]:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"Settings file {path}: unknown key(s) {sorted(unknown)}; "
                          f"expected some of {sorted(_TOP_KEYS)}.")
    out: dict[str, Any] = {k: v for k, v in data.items()
                           if k in {"as_of", "policy", "max_age_days", "fail_on", "encoding", "sheet",
                                    "max_download_mb"}}
    for key in ("disabled_checks", "selected_checks"):
        if key in data:
            out[key] = tuple(data[key])
    if "policies" in data:
        out["policies"] = MappingProxyType({**POLICIES, **{k: int(v) for k, v in data["policies"].items()}})
    area = data.get("service_area", {})
    if "states" in area:
        out["service_area_states"] = tuple(s.upper() for s in area["states"])
    if "counties" in area:
        out["service_area_counties"] = tuple(area["counties"])
    if "check_options" in data:
        out["check_options"] = MappingProxyType({k: MappingProxyType(dict(v)) for k, v in data["check_options"].items()})
    return out


def _validate(s: Settings) -> None:
    if s.policy not in s.policies:
        raise ConfigError(f"policy: found {s.policy!r}, expected one of {sorted(s.policies)} "
                          "(add more under [policies] in the settings file).")
    if s.fail_on not in FAIL_ON:
        raise ConfigError(f"fail_on: found {s.fail_on!r}, expected one of {list(FAIL_ON)}.")
    if s.max_pages is not None and int(s.max_pages) < 1:
        raise ConfigError(f"--max-pages: found {s.max_pages!r}, expected a positive number of pages.")
    if s.max_age_days is not None and int(s.max_age_days) < 1:
        raise ConfigError(f"max_age_days: found {s.max_age_days!r}, expected a positive number of days.")
    if isinstance(s.max_download_mb, bool) or not isinstance(s.max_download_mb, (int, float)) \
            or not s.max_download_mb > 0:
        raise ConfigError(f"max_download_mb: found {s.max_download_mb!r}, expected a positive number of megabytes.")
    for c in s.service_area_counties:
        if ":" not in c:
            raise ConfigError(f"service_area.counties: found {c!r}, expected STATE:County, e.g. 'WA:Clark'.")

"""The insurer's narrative: what only the insurer can say about the Transparency factor items.

Some factor items cannot be shown by a directory's data: who is responsible for the network (T1.iv),
how and how often enrollees are told of network changes (T2.iii), where the directory discloses how
often it is updated (T1.ii). The insurer writes those answers in a narrative file, TOML or YAML, whose
template ``directory-audit init-narrative FILE`` writes. The reports quote the answers, flag every
empty one as missing (never invent one), and compare what the narrative claims with what the data
measured (see ``reports.status``).

The file has one table per factor item, keyed by the item id (quoted, because ids contain a dot)::

    ["T1.ii"]
    directory_url = "https://example.com/find-a-provider"
    update_frequency = "weekly"
    disclosure_location = "footer of every search results page"

An empty string, or a key left out, means "not answered". Unknown items or keys are a configuration
error (a typo would otherwise silently count as a missing answer).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError


@dataclass(frozen=True)
class NarrativeField:
    key: str
    label: str
    help: str
    example: str
    required: bool = True


#: The questions per factor item, in the order the template and the reports show them.
NARRATIVE_FIELDS: dict[str, tuple[NarrativeField, ...]] = {
    "T1.ii": (
        NarrativeField("directory_url", "Directory link",
                       "The public address of the provider directory (no login, no policy number).",
                       "https://www.example-health.com/find-a-provider"),
        NarrativeField("update_frequency", "How often the directory is updated",
                       "How often the directory data is refreshed: daily, weekly, monthly, every 14 days, ...",
                       "weekly"),
        NarrativeField("disclosure_location", "Where the update frequency is disclosed",
                       "Where in the directory the update frequency is stated to the public.",
                       "the footer of every search results page: 'Updated weekly; accurate as of <date>'"),
    ),
    "T1.iii": (
        NarrativeField("process", "How open-practice information is kept",
                       "How accepting-new-patients status is collected, verified and updated.",
                       "Provider Relations calls each office every 90 days; offices report changes via portal"),
        NarrativeField("update_frequency", "How often open-practice status is updated",
                       "How often accepting-new-patients status is refreshed in the directory.",
                       "weekly", required=False),
    ),
    "T1.iv": (
        NarrativeField("position", "Responsible position",
                       "The position responsible for establishing and monitoring the network.",
                       "Director of Network Management"),
        NarrativeField("department", "Responsible department",
                       "The department that position belongs to.",
                       "Provider Network Services"),
    ),
    "T2.i": (
        NarrativeField("how_providers_are_told", "How providers learn where to find other network providers",
                       "How network providers are told where the directory is and how to use it.",
                       "provider manual section 3 and the provider portal home page link to the directory"),
    ),
    "T2.ii": (
        NarrativeField("how_enrollees_are_told", "How enrollees are told how to locate in-network providers",
                       "How enrollees learn to search by location, specialty, language and accepting status.",
                       "welcome packet, member handbook chapter 2, and the member portal"),
    ),
    "T2.iii": (
        NarrativeField("notification_frequency", "How often enrollees are notified of network changes",
                       "How often enrollees are told of network changes.",
                       "monthly, and within 30 days for a terminated primary care provider"),
        NarrativeField("notification_method", "How enrollees are notified of network changes",
                       "By what method enrollees are told (letter, email, portal message, ...).",
                       "letter or email to affected enrollees; changes page on the member portal"),
    ),
}


@dataclass(frozen=True)
class Narrative:
    """The answers read from a narrative file; ``answers[item][key]`` is a non-empty string."""
    path: Path | None = None
    answers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    insurer: str = ""

    def answer(self, item: str, key: str) -> str:
        return self.answers.get(item, {}).get(key, "")

    def missing(self, item: str) -> list[NarrativeField]:
        """The required questions of ``item`` left unanswered."""
        return [f for f in NARRATIVE_FIELDS.get(item, ()) if f.required and not self.answer(item, f.key)]

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.path) if self.path else None, "insurer": self.insurer,
                "answers": {k: dict(v) for k, v in self.answers.items()}}


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Narrative file {path} does not exist. "
                          "`directory-audit init-narrative FILE` writes a template.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Narrative file {path} is not UTF-8 text (byte {exc.start}).") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"Narrative file {path} is not valid YAML: {exc}") from None
        return data or {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Narrative file {path} is not valid TOML: {exc}. Name a YAML file *.yaml; "
                          "`directory-audit init-narrative` writes a template.") from None


def load_narrative(path: Path | str | None) -> Narrative:
    """Read and validate a narrative file; ``None`` gives an empty narrative (every answer missing)."""
    if path is None:
        return Narrative()
    path = Path(path)
    data = _parse(path)
    if not isinstance(data, dict):
        raise ConfigError(f"Narrative file {path}: expected a table of factor items, found {type(data).__name__}.")
    insurer = data.pop("insurer", "")
    if isinstance(insurer, dict):
        insurer = insurer.get("name", "")
    unknown = sorted(set(data) - set(NARRATIVE_FIELDS))
    if unknown:
        raise ConfigError(f"Narrative file {path}: unknown item(s) {unknown}; expected some of "
                          f"{list(NARRATIVE_FIELDS)} (quote the ids in TOML: [\"T1.ii\"]).")
    answers: dict[str, dict[str, str]] = {}
    for item, section in data.items():
        if not isinstance(section, dict):
            raise ConfigError(f"Narrative file {path}: {item} must be a table of answers, found {section!r}.")
        keys = {f.key for f in NARRATIVE_FIELDS[item]}
        bad = sorted(set(section) - keys)
        if bad:
            raise ConfigError(f"Narrative file {path}: {item} has unknown key(s) {bad}; expected {sorted(keys)}.")
        for key, value in section.items():
            if value is None:
                continue
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ConfigError(f"Narrative file {path}: {item}.{key} must be text, found {value!r}.")
            text = str(value).strip()
            if text:
                answers.setdefault(item, {})[key] = text
    return Narrative(path=path, answers=answers, insurer=str(insurer or "").strip())


# --- update frequency -------------------------------------------------------------------------------

_WORD_DAYS = {"daily": 1, "every day": 1, "nightly": 1, "weekly": 7, "every week": 7,
              "biweekly": 14, "bi-weekly": 14, "fortnightly": 14, "every two weeks": 14,
              "semimonthly": 15, "semi-monthly": 15, "twice a month": 15, "monthly": 31, "every month": 31,
              "quarterly": 92, "every quarter": 92, "every three months": 92,
              "semiannually": 183, "semi-annually": 183, "twice a year": 183,
              "annually": 365, "yearly": 365, "every year": 365, "once a year": 365}
_UNIT_DAYS = {"day": 1, "business day": 1, "week": 7, "month": 31, "year": 365}
_EVERY_N = re.compile(r"every\s+(\d+)\s+(business day|day|week|month|year)s?")


def frequency_days(text: str) -> int | None:
    """The interval, in days, that a stated frequency names ("weekly" -> 7, "every 14 days" -> 14).

    The shortest interval named wins ("weekly, and monthly for facilities" -> 7). None when no
    frequency can be read: the reports then say so rather than guess."""
    t = text.lower()
    found = [days for word, days in _WORD_DAYS.items() if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", t)]
    found += [int(n) * _UNIT_DAYS[unit] for n, unit in _EVERY_N.findall(t) if int(n) > 0]
    return min(found) if found else None


# --- the template -------------------------------------------------------------------------------------

def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def template(fmt: str = "toml") -> str:
    """The narrative template: every question with a comment saying what it asks and an example."""
    from .factors import FACTOR_ITEMS
    yaml_ = fmt == "yaml"
    lines = [
        "# directory-audit narrative: what only the insurer can say about Oregon's Transparency factors",
        "# (OAR 836-053-0340(2)(c)). Pass it with `directory-audit audit SOURCE --out DIR --narrative FILE`.",
        "# Answer in plain words. An answer left empty is reported as 'narrative missing', never filled in.",
        "# The report compares what you state with what the data shows (e.g. update frequency vs record age).",
        "",
        'insurer: ""' if yaml_ else 'insurer = ""',
        "",
    ]
    for item, fields in NARRATIVE_FIELDS.items():
        lines.append(f"# {item}: {FACTOR_ITEMS[item].title}. {FACTOR_ITEMS[item].asks}")
        lines.append(f'"{item}":' if yaml_ else f'["{item}"]')
        for f in fields:
            optional = " (optional)" if not f.required else ""
            lines.append(f"{'  ' if yaml_ else ''}# {f.help}{optional} Example: {f.example}")
            lines.append(f'  {f.key}: ""' if yaml_ else f'{f.key} = ""')
        lines.append("")
    return "\n".join(lines)


def answer_summary(narrative: Narrative) -> dict[str, Any]:
    """Per item: the questions, the answers and what is missing, for report.json."""
    out: dict[str, Any] = {}
    for item, fields in NARRATIVE_FIELDS.items():
        out[item] = [{"key": f.key, "label": f.label, "required": f.required,
                      "answer": narrative.answer(item, f.key)} for f in fields]
    return out


__all__ = ["NARRATIVE_FIELDS", "Narrative", "NarrativeField", "answer_summary", "frequency_days",
           "load_narrative", "template"]

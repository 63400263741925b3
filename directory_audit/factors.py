"""The Transparency factor items of OAR 836-053-0340(2)(c): what each asks, in our words, and
whether a directory's data can evidence it or only the insurer's narrative can."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FactorItem:
    id: str
    factor: int
    title: str
    asks: str
    data_evidence: str   # what the tool can measure; "" when narrative only
    narrative: str       # what only the insurer can say; "" when data alone evidences it


FACTOR_ITEMS: dict[str, FactorItem] = {f.id: f for f in (
    FactorItem("T1.i", 1, "Provider locations are transparent to the public",
               "Every provider's practice locations are shown completely and correctly.",
               "completeness, validity and consistency of every practice location (address, ZIP/city/state, phone, no PO boxes)", ""),
    FactorItem("T1.ii", 1, "Directory link, update frequency and where it is disclosed",
               "The directory is reachable, is updated at least monthly, and says how often it is updated.",
               "age of records against the verification window; last-updated dates present and plausible",
               "the directory link and where the update frequency is disclosed"),
    FactorItem("T1.iii", 1, "How open-practice information is kept and updated",
               "The insurer keeps each provider's accepting-new-patients status and updates it.",
               "accepting-new-patients flag present and valid per provider-location; consistency; age of those records",
               "the process for collecting and updating open-practice status"),
    FactorItem("T1.iv", 1, "Who is responsible for the network",
               "The position and department responsible for establishing and monitoring the network.",
               "", "the responsible position and department"),
    FactorItem("T2.i", 2, "Providers can find other network providers",
               "Network providers can look up other providers in the network.",
               "directory public and searchable; no duplicate or conflicting listings; valid identifiers",
               "how providers are told where to find the directory"),
    FactorItem("T2.ii", 2, "Enrollees are told how to locate in-network providers",
               "Enrollees can search by location, specialty, language and accepting status.",
               "the fields a search needs (specialty, location, language, accepting status) are present",
               "how enrollees are told how to locate providers"),
    FactorItem("T2.iii", 2, "How often and how enrollees learn of network changes",
               "Enrollees are notified of network changes, at a stated frequency and by a stated method.",
               "diffs between runs show what changed and when", "notification frequency and method"),
    FactorItem("T2.iv", 2, "Language fluency is disclosed",
               "The directory shows which providers speak languages other than English, and which.",
               "share of providers with a language disclosure; values are real languages; providers per language", ""),
    FactorItem("T2.v", 2, "Enrollees are informed of open practices",
               "Each provider-location shows whether it accepts new patients.",
               "accepting status shown for each provider-location; share accepting", ""),
)}


def known(item: str) -> bool:
    return item in FACTOR_ITEMS

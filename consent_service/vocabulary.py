"""Human words for the registry's codes: ONE vocabulary for the notice, the portal and the docs.

The consent rules speak in codes (`film_tv`, `theatrical`, `short_notice`); people read
"film and television", "cinemas" and a sentence that says what to do. Every place that shows a
code to a person takes its words from here: the notice template (from 2026-11-v3), the portal
pages and receipts, and the tables in `docs/holders.md` (a test checks they agree).

Pure data and a few lookups (country names from `pycountry`): no imports from the rest of the
package, so any layer may use it.
Notice templates released before v3 keep their own frozen labels: a released notice must
re-render to the same bytes, whatever happens to the words here.
"""

from __future__ import annotations

from typing import Final

import pycountry

# The parts of a person's likeness (CONSENT_RULES.md `attributes`).
ATTRIBUTES: Final[dict[str, str]] = {
    "face": "face",
    "voice": "voice",
    "body": "body",
}

# What the replica may be used for (`purposes`).
PURPOSES: Final[dict[str, str]] = {
    "film_tv": "film and television",
    "advertising": "advertising",
    "video_game": "video games",
    "dubbing_localisation": "dubbing and localisation",
    "ai_training": "training AI models",
    "news_documentary": "news and documentary",
    "parody_satire": "parody and satire",
    "music_video": "music videos",
    "live_performance": "live performance",
}

# Where it may be shown (`media`).
MEDIA: Final[dict[str, str]] = {
    "theatrical": "cinemas",
    "streaming": "streaming services",
    "broadcast": "broadcast television and radio",
    "online": "websites",
    "social_media": "social media",
    "print": "print",
    "in_game": "inside games",
    "outdoor": "outdoor advertising",
    "live_event": "live events",
}

# Uses that are never allowed unless the holder removes them (`prohibited_uses`).
PROHIBITED_USES: Final[dict[str, str]] = {
    "sexual_content": "sexual content",
    "political_endorsement": "political endorsement",
    "defamatory_content": "defamatory content",
}

REPLICA_TYPES: Final[dict[str, str]] = {
    "employment_based": "employment-based (made in connection with your employment)",
    "independently_created": "independently created",
}

REPRESENTATION: Final[dict[str, str]] = {
    "lawyer": "a lawyer, who initialled these terms",
    "union": "your union, under a collective agreement",
    "none": "none (you are not represented by a lawyer or a union)",
}

# A grant's state (DPV consent states), as a person reads it.
STATUSES: Final[dict[str, str]] = {
    "active": "active",
    "withdrawn": "withdrawn",
    "revoked": "revoked",
    "suspended": "suspended",
    "expired": "expired",
    "ended_by_death": "ended by death",
    "pending": "waiting for your answer",
    "accepted": "accepted",
    "declined": "declined",
}

# Who signed (`signature.role`) and how (`signature.method`).
SIGNER_ROLES: Final[dict[str, str]] = {
    "self": "the holder, in person",
    "representative": "an authorised representative",
    "guardian": "a guardian",
    "executor": "the estate's executor",
    "agent": "an agent",
}
SIGNATURE_METHODS: Final[dict[str, str]] = {
    "typed_name": "typed name",
    "click_through": "click-through",
    "drawn": "drawn signature",
    "qualified_electronic_signature": "qualified electronic signature",
}

# The dimensions a request may offer as separate choices, and what each item is called there.
DIMENSIONS: Final[dict[str, str]] = {
    "purposes": "use",
    "media": "place it may be shown",
    "attributes": "part of your likeness",
}

# Plain-language explanations shown with a separate choice. `ai_training` always has one: it is
# never bundled with another purpose (CONSENT_RULES.md, G Art. 9, SAG).
EXPLANATIONS: Final[dict[str, str]] = {
    "ai_training": (
        "The studio may use recordings of you to teach computer systems (AI models) to "
        "produce your likeness or to learn from it. A model that learned from you can keep "
        "what it learned after this project ends, so say yes only if you are comfortable with "
        "that. Saying no does not change the rest of this consent."
    ),
}

# The warnings the rules raise (*flag*): what each means for the holder and what to do.
WARNINGS: Final[dict[str, str]] = {
    "enforceability_risk": (
        "This replica would replace work you would otherwise do in person, and no lawyer or "
        "union represents you: under California and New York law such terms may not be "
        "enforceable. Ask a lawyer or your union to read them before you decide."
    ),
    "short_notice": (
        "You were given less than 48 hours before this employment-based replica may first be "
        "used. Take the time you need: you may ask the studio to start later, or decline."
    ),
    "capped_at_majority": (
        "The person this consent is for turns 18 before the end date the studio asked for, so "
        "it ends on their 18th birthday. Nothing to do now; from then on they decide themselves."
    ),
    "default_prohibited_use_removed": (
        "These terms allow a use the registry forbids by default (sexual content, political "
        "endorsement or defamatory content). Read the 'Never for' line carefully; decline if "
        "you did not agree to this with the studio."
    ),
}
WARNING_FALLBACK: Final = (
    "The registry flagged these terms. Read them carefully and ask the studio before you decide."
)

ALL_LABELS: Final[dict[str, str]] = {
    **ATTRIBUTES,
    **PURPOSES,
    **MEDIA,
    **PROHIBITED_USES,
    **REPLICA_TYPES,
    "WORLDWIDE": "worldwide",
}


def label(code: str) -> str:
    """The words for a vocabulary code; a territory's ISO 3166-1 code gives the country's
    name from the ISO data in `pycountry` (`GB` -> United Kingdom)."""
    if code in ALL_LABELS:
        return ALL_LABELS[code]
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    return str(country.name) if country is not None else code


def labels(codes: list[str] | tuple[str, ...], *, none: str = "none") -> str:
    """A list of codes in words: `face, voice`."""
    return ", ".join(label(code) for code in codes) or none


def warning_advice(code: str) -> str:
    return WARNINGS.get(code, WARNING_FALLBACK)

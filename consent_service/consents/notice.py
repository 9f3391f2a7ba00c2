"""The notice: the human-readable disclosure a holder reads before consenting.

Rendered from the normalised terms and a versioned disclosure template, in the request's
language. Rendering is deterministic (same terms, same template version, same language: same
bytes), and the SHA-256 of the UTF-8 text is what the acceptance must quote (GDPR Art. 7(2):
the holder consents to exactly what was shown). A template, once released, is never edited:
a change is a new version, so old notices can be re-rendered and their hashes re-checked.

A new language is a new entry in `TEMPLATES` with the same placeholders.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from string import Template
from typing import Any
from zoneinfo import ZoneInfo

from consent_service import vocabulary
from consent_service.consents.rules import CHOOSABLE, offered_choices, post_mortem_rule

DEFAULT_LANGUAGE = "en"
# 2026-11-v2 adds "If you die" (the `survives_death` term, IDENTITY.md "Death"); v1 stays so
# that notices served under it re-render to the same bytes.
# 2026-11-v3 is written for people: headings and one paragraph or list item per line (no hard
# line breaks: the page wraps it), the words of `consent_service.vocabulary`, dates in words in
# the holder's time zone, the separate choices in their own section (`ai_training` always with
# its explanation), and the holder's rights as buttons in their account rather than API calls.
CURRENT_VERSION = "2026-11-v3"
V2 = "2026-11-v2"
V1 = "2026-11-v1"
# How a v3 text marks its structure, one block per line: "# " a title, "## " a section
# heading, "- " a list item, anything else a paragraph; blank lines separate blocks.
# Everything a studio typed is folded to one line first, so it can never start a block.
STRUCTURED_VERSIONS = frozenset({"2026-11-v3"})


@dataclass(frozen=True, slots=True)
class NoticeTemplate:
    version: str
    language: str
    body: str
    labels: dict[str, str]
    none_text: str


_EN_BODY = """\
CONSENT NOTICE (template $template_version, language $language)

$studio_name (registry id $studio_id)
asks for your consent to create and use a digital replica of your likeness
for the project "$project".

1. WHAT WILL BE MADE
   Parts of your likeness: $attributes
   Kind of replica: $replica_type
   It replaces work you would otherwise do in person: $replaces_in_person_work
   Intended use, in the studio's words:
   $intended_use_description

2. WHAT IT MAY BE USED FOR
   Purposes: $purposes
   Where it may be shown (media): $media
   Where (territories): $territories
   Never for: $prohibited_uses

3. FOR HOW LONG
   From $valid_from until $valid_until, unless you withdraw earlier.

4. YOUR REPRESENTATION AND PAY
   Representation: $representation
   Compensation: $compensation

5. WHAT YOU MAY DO
   - Withdraw at any time, as easily as you give consent, without giving a reason: one request,
     POST $issuer/v1/consents/<consent id>/withdraw, or the withdraw button in your account.
     Withdrawal takes effect at once: every licence issued under this consent stops being valid.
     It does not undo uses made lawfully before it.
   - Ask for a copy of everything held about you, and ask for erasure of your account and data
     (DELETE $issuer/v1/holders/<your id>).
   - You receive a signed receipt when you consent and when you withdraw.

6. WHO TO CONTACT
   The registry operating at $issuer keeps this record. Contact its operator through that
   address about this consent or your data; contact $studio_name about the production.

If you accept, you sign electronically. The service records who signed, how and when, and a
hashed fingerprint of your device (never your address in clear).
"""

_EN_BODY_V2 = _EN_BODY.replace(
    "   From $valid_from until $valid_until, unless you withdraw earlier.\n",
    "   From $valid_from until $valid_until, unless you withdraw earlier.\n"
    "   If you die: $if_you_die\n",
)

_EN_LABELS = {
    "face": "face",
    "voice": "voice",
    "body": "body",
    "employment_based": "employment-based (made in connection with your employment)",
    "independently_created": "independently created",
    "yes": "yes",
    "no": "no",
    "lawyer": "a lawyer, who initialled these terms",
    "union": "your union, under collective agreement",
    "agreement_covers": "which covers digital replicas",
    "agreement_does_not_cover": "which does not cover digital replicas",
    "none": "none (you are not represented by a lawyer or union)",
    "WORLDWIDE": "worldwide",
    "film_tv": "film and television",
    "advertising": "advertising",
    "video_game": "video games",
    "dubbing_localisation": "dubbing and localisation",
    "ai_training": "training AI models",
    "news_documentary": "news and documentary",
    "parody_satire": "parody and satire",
    "music_video": "music videos",
    "live_performance": "live performance",
    "theatrical": "cinemas",
    "streaming": "streaming services",
    "broadcast": "broadcast television and radio",
    "online": "websites",
    "social_media": "social media",
    "print": "print",
    "in_game": "inside games",
    "outdoor": "outdoor advertising",
    "live_event": "live events",
    "sexual_content": "sexual content",
    "political_endorsement": "political endorsement",
    "defamatory_content": "defamatory content",
}
# The "If you die" sentence of v2: whether the consent survives the holder's death and, if it
# does, until when at the latest (the post-mortem period of the holder's jurisdiction, from
# rules.POST_MORTEM_RIGHTS). Placeholders: $period, $jurisdiction, $source.
_EN_DEATH = {
    "ends": (
        "this consent does not survive your death. It ends when your death is recorded, and "
        "every licence issued under it stops being valid at once."
    ),
    "survives": (
        "this consent survives your death. It continues after your death until the end date "
        "above at the latest, and never past the end of your post-mortem rights: $period "
        "after your death under the law of $jurisdiction ($source). Your executor may end it "
        "sooner, never later."
    ),
    "survives_but_no_rights": (
        "the studio asks that this consent survive your death, but the law of $jurisdiction "
        "gives no post-mortem right the registry recognises: it ends when your death is "
        "recorded, and every licence issued under it stops being valid at once."
    ),
}

_EN_BODY_V3 = """\
# Consent notice

$studio_name (registry id $studio_id) asks for your consent to create and use a digital \
replica of your likeness for the project "$project".

## What will be made

- Parts of your likeness: $attributes
- Kind of replica: $replica_type
- It replaces work you would otherwise do in person: $replaces_in_person_work

What the studio intends to do, in its own words: $intended_use_description

## What it may be used for

- Uses: $purposes
- Where it may be shown: $media
- Where in the world: $territories
- Never for: $prohibited_uses
$choices_section
## For how long

From $valid_from until $valid_until, unless you withdraw earlier. Times are in $time_zone.

If you die: $if_you_die

## Your representation and pay

- Representation: $representation
- Pay: $compensation

## What you may do

- Withdraw at any time, as easily as you give consent and without giving a reason: press \
Withdraw on this consent's page in your account ($portal). It takes effect at once: every \
licence issued under this consent stops being valid. It does not undo uses made lawfully \
before it.
- Download a copy of everything the registry holds about you, and ask for your account and \
data to be erased, from your account.
- You receive a signed receipt when you consent and when you withdraw.

## Who to contact

The registry at $issuer keeps this record: contact its operator there about this consent or \
your data. Contact $studio_name about the production.

## How you sign

If you accept, you sign electronically by typing your name. The registry records who signed, \
how and when, and a hashed fingerprint of your device (never your address in clear).

Notice template $template_version, language $language.
"""
_EN_CHOICES_V3 = """
## Your choices

You decide on each of these separately: say yes or no to each. Everything above is asked for \
as a whole; saying no to any of these does not change it.

$choices
"""
_EN_V3_LABELS = {
    **{code: vocabulary.label(code) for code in vocabulary.ALL_LABELS},
    **{f"role.{k}": v for k, v in vocabulary.REPRESENTATION.items()},
    **{f"dimension.{k}": v for k, v in vocabulary.DIMENSIONS.items()},
    **{f"explain.{k}": v for k, v in vocabulary.EXPLANATIONS.items()},
    "yes": "yes",
    "no": "no",
    "lawyer": vocabulary.REPRESENTATION["lawyer"],
    "union": vocabulary.REPRESENTATION["union"],
    "none": vocabulary.REPRESENTATION["none"],
    "agreement_covers": "which covers digital replicas",
    "agreement_does_not_cover": "which does not cover digital replicas",
    "only_choices": 'only what you choose under "Your choices"',
    "date": "$day $month $year at $time",
    "months": "January February March April May June July August September October "
    "November December",
    **{f"death.{k}": v for k, v in _EN_DEATH.items()},
}

_ES_BODY_V3 = """\
# Aviso de consentimiento

$studio_name (id de registro $studio_id) le pide su consentimiento para crear y usar una \
réplica digital de su imagen para el proyecto "$project".

## Qué se creará

- Partes de su imagen: $attributes
- Tipo de réplica: $replica_type
- Sustituye trabajo que usted haría en persona: $replaces_in_person_work

Lo que el estudio se propone hacer, en sus propias palabras: $intended_use_description

## Para qué puede usarse

- Usos: $purposes
- Dónde puede mostrarse: $media
- En qué lugares del mundo: $territories
- Nunca para: $prohibited_uses
$choices_section
## Durante cuánto tiempo

Desde el $valid_from hasta el $valid_until, salvo que usted lo retire antes. Las horas están \
en $time_zone.

Si usted fallece: $if_you_die

## Su representación y su pago

- Representación: $representation
- Pago: $compensation

## Lo que usted puede hacer

- Retirar su consentimiento en cualquier momento, tan fácilmente como lo da y sin dar \
motivos: pulse Retirar en la página de este consentimiento en su cuenta ($portal). Surte \
efecto de inmediato: toda licencia emitida con este consentimiento deja de ser válida. No \
deshace los usos hechos lícitamente antes.
- Descargar una copia de todo lo que el registro guarda sobre usted y pedir que se borren su \
cuenta y sus datos, desde su cuenta.
- Usted recibe un recibo firmado cuando da su consentimiento y cuando lo retira.

## A quién dirigirse

El registro en $issuer guarda este expediente: diríjase allí a su operador sobre este \
consentimiento o sus datos. Diríjase a $studio_name sobre la producción.

## Cómo firma

Si acepta, firma electrónicamente escribiendo su nombre. El registro anota quién firmó, cómo y \
cuándo, y una huella cifrada de su dispositivo (nunca su dirección en claro).

Plantilla de aviso $template_version, idioma $language.
"""
_ES_CHOICES_V3 = """
## Sus opciones

Usted decide cada una de estas por separado: diga sí o no a cada una. Todo lo anterior se pide \
en conjunto; decir que no a cualquiera de estas no lo cambia.

$choices
"""
_ES_DEATH = {
    "ends": (
        "este consentimiento no sobrevive a su fallecimiento. Termina cuando se registre su "
        "fallecimiento, y toda licencia emitida con él deja de ser válida de inmediato."
    ),
    "survives": (
        "este consentimiento sobrevive a su fallecimiento. Continúa después de su "
        "fallecimiento como mucho hasta la fecha final indicada arriba, y nunca más allá del "
        "fin de sus derechos post mortem: $period después de su fallecimiento según la ley de "
        "$jurisdiction ($source). Su albacea puede terminarlo antes, nunca después."
    ),
    "survives_but_no_rights": (
        "el estudio pide que este consentimiento sobreviva a su fallecimiento, pero la ley de "
        "$jurisdiction no da ningún derecho post mortem que el registro reconozca: termina "
        "cuando se registre su fallecimiento, y toda licencia emitida con él deja de ser "
        "válida de inmediato."
    ),
}

_FR_BODY_V3 = """\
# Avis de consentement

$studio_name (identifiant au registre $studio_id) vous demande votre consentement pour créer \
et utiliser une réplique numérique de votre image pour le projet « $project ».

## Ce qui sera créé

- Parties de votre image : $attributes
- Type de réplique : $replica_type
- Elle remplace un travail que vous feriez en personne : $replaces_in_person_work

Ce que le studio entend faire, dans ses propres mots : $intended_use_description

## À quoi elle peut servir

- Usages : $purposes
- Où elle peut être montrée : $media
- Dans quelles parties du monde : $territories
- Jamais pour : $prohibited_uses
$choices_section
## Pour combien de temps

Du $valid_from au $valid_until, sauf si vous le retirez avant. Les heures sont en $time_zone.

En cas de décès : $if_you_die

## Votre représentation et votre rémunération

- Représentation : $representation
- Rémunération : $compensation

## Ce que vous pouvez faire

- Retirer votre consentement à tout moment, aussi facilement que vous le donnez et sans vous \
justifier : appuyez sur Retirer sur la page de ce consentement dans votre compte ($portal). \
Le retrait prend effet immédiatement : toute licence délivrée au titre de ce consentement \
cesse d'être valable. Il n'annule pas les usages faits légalement auparavant.
- Télécharger une copie de tout ce que le registre détient sur vous, et demander l'effacement \
de votre compte et de vos données, depuis votre compte.
- Vous recevez un reçu signé quand vous donnez votre consentement et quand vous le retirez.

## Qui contacter

Le registre à l'adresse $issuer conserve ce dossier : contactez-y son exploitant au sujet de \
ce consentement ou de vos données. Contactez $studio_name au sujet de la production.

## Comment vous signez

Si vous acceptez, vous signez électroniquement en tapant votre nom. Le registre note qui a \
signé, comment et quand, ainsi qu'une empreinte chiffrée de votre appareil (jamais votre \
adresse en clair).

Modèle d'avis $template_version, langue $language.
"""
_FR_CHOICES_V3 = """
## Vos choix

Vous décidez de chacun de ces points séparément : répondez oui ou non à chacun. Tout ce qui \
précède est demandé en bloc ; dire non à l'un de ces points n'y change rien.

$choices
"""
_FR_DEATH = {
    "ends": (
        "ce consentement ne survit pas à votre décès. Il prend fin lorsque votre décès est "
        "enregistré, et toute licence délivrée à son titre cesse aussitôt d'être valable."
    ),
    "survives": (
        "ce consentement survit à votre décès. Il continue après votre décès au plus tard "
        "jusqu'à la date de fin ci-dessus, et jamais au-delà de la fin de vos droits post "
        "mortem : $period après votre décès selon le droit de $jurisdiction ($source). Votre "
        "exécuteur testamentaire peut y mettre fin plus tôt, jamais plus tard."
    ),
    "survives_but_no_rights": (
        "le studio demande que ce consentement survive à votre décès, mais le droit de "
        "$jurisdiction ne donne aucun droit post mortem que le registre reconnaisse : il prend "
        "fin lorsque votre décès est enregistré, et toute licence délivrée à son titre cesse "
        "aussitôt d'être valable."
    ),
}

_ES_MONTHS = (
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
)
_FR_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


def _v3_labels(language: str, **extra: str) -> dict[str, str]:
    """Template v3's words in `language`, from the shared vocabulary."""
    codes = (
        list(vocabulary.ALL_LABELS)
        + [f"dimension.{d}" for d in vocabulary.DIMENSIONS]
        + [f"explain.{k}" for k in vocabulary.EXPLANATIONS]
    )
    words = {}
    for code in codes:
        if code.startswith("dimension."):
            words[code] = (
                vocabulary.TRANSLATIONS.get(language, {}).get(code)
                or vocabulary.DIMENSIONS[code.split(".", 1)[1]]
            )
        elif code.startswith("explain."):
            words[code] = (
                vocabulary.TRANSLATIONS.get(language, {}).get(code)
                or vocabulary.EXPLANATIONS[code.split(".", 1)[1]]
            )
        else:
            words[code] = vocabulary.label_in(code, language)
    return {**words, **extra}


_ES_V3_LABELS = _v3_labels(
    "es",
    yes="sí",
    no="no",
    lawyer="un abogado, que rubricó estas condiciones",
    union="su sindicato, según un convenio colectivo",
    none="ninguna (no le representa ningún abogado ni sindicato)",
    agreement_covers="que cubre las réplicas digitales",
    agreement_does_not_cover="que no cubre las réplicas digitales",
    only_choices='solo lo que usted elija en "Sus opciones"',
    date="$day de $month de $year a las $time",
    months=_ES_MONTHS,
    years="$n años",
    choices_section=_ES_CHOICES_V3,
    **{f"death.{k}": v for k, v in _ES_DEATH.items()},
)
_FR_V3_LABELS = _v3_labels(
    "fr",
    yes="oui",
    no="non",
    lawyer="un avocat, qui a paraphé ces conditions",
    union="votre syndicat, au titre d'une convention collective",
    none="aucune (ni avocat ni syndicat ne vous représente)",
    agreement_covers="qui couvre les répliques numériques",
    agreement_does_not_cover="qui ne couvre pas les répliques numériques",
    only_choices="uniquement ce que vous choisissez dans « Vos choix »",
    date="$day $month $year à $time",
    months=_FR_MONTHS,
    day1="1er",
    colon=" : ",
    years="$n ans",
    choices_section=_FR_CHOICES_V3,
    **{f"death.{k}": v for k, v in _FR_DEATH.items()},
)

TEMPLATES: dict[tuple[str, str], NoticeTemplate] = {
    (V1, "en"): NoticeTemplate(
        version=V1, language="en", body=_EN_BODY, labels=_EN_LABELS, none_text="none"
    ),
    (V2, "en"): NoticeTemplate(
        version=V2,
        language="en",
        body=_EN_BODY_V2,
        labels={**_EN_LABELS, **{f"death.{k}": v for k, v in _EN_DEATH.items()}},
        none_text="none",
    ),
    (CURRENT_VERSION, "en"): NoticeTemplate(
        version=CURRENT_VERSION,
        language="en",
        body=_EN_BODY_V3,
        labels={**_EN_V3_LABELS, "choices_section": _EN_CHOICES_V3},
        none_text="none",
    ),
    (CURRENT_VERSION, "es"): NoticeTemplate(
        version=CURRENT_VERSION,
        language="es",
        body=_ES_BODY_V3,
        labels=_ES_V3_LABELS,
        none_text="ninguno",
    ),
    (CURRENT_VERSION, "fr"): NoticeTemplate(
        version=CURRENT_VERSION,
        language="fr",
        body=_FR_BODY_V3,
        labels=_FR_V3_LABELS,
        none_text="aucune",
    ),
}
LANGUAGES = frozenset(language for _version, language in TEMPLATES)
# The languages a new notice is rendered in, all at once (the holder reads the one they choose).
CURRENT_LANGUAGES = tuple(
    sorted(language for version, language in TEMPLATES if version == CURRENT_VERSION)
)


class UnknownTemplate(LookupError):
    pass


def _list(items: list[str], tpl: NoticeTemplate) -> str:
    return ", ".join(tpl.labels.get(item, item) for item in items) or tpl.none_text


def _representation(rep: dict[str, Any], tpl: NoticeTemplate) -> str:
    text = tpl.labels.get(rep.get("kind", "none"), str(rep.get("kind")))
    if rep.get("kind") != "union":
        return text
    agreement = rep.get("agreement")
    if isinstance(agreement, dict):
        # The agreement as registered (name, union, cover), copied into the terms from the
        # registry of collective agreements when the request was made.
        cover = (
            "agreement_covers" if agreement.get("covers_replicas") else "agreement_does_not_cover"
        )
        name = " ".join(str(agreement.get("name", "")).split())
        union = " ".join(str(agreement.get("union", "")).split())
        return (
            f'{text} "{name}" ({union}, registry id {rep.get("agreement_id")}), {tpl.labels[cover]}'
        )
    # Terms stored before the registry existed: rendered exactly as when they were served.
    text += f" {rep.get('agreement_id')}"
    text += " (covers digital replicas)" if rep.get("covers_replicas") else ""
    return text


def _compensation(comp: dict[str, Any] | None, tpl: NoticeTemplate) -> str:
    if not comp:
        return tpl.none_text
    parts = []
    if comp.get("amount") is not None:
        parts.append(f"{comp['amount']} {comp.get('currency') or ''}".strip())
    if comp.get("description"):
        parts.append(str(comp["description"]))
    return "; ".join(parts) or tpl.none_text


def _wrap_description(text: str, *, lead: int = 0) -> str:
    # One paragraph, indented like the rest; whitespace normalised so rendering is stable.
    # `lead`: characters that stand before the first line in the template (a label).
    words = text.split()
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > 88 - (lead if not lines else 0):
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n   ".join(lines)


# "If you die: " stands before the sentence on its first line (template v2).
_IF_YOU_DIE_LEAD = len("If you die: ")


def _if_you_die(terms: dict[str, Any], jurisdiction: str, tpl: NoticeTemplate) -> str:
    if "death.ends" not in tpl.labels:  # a template from before the survives_death term
        return ""
    if not terms.get("survives_death"):
        return _wrap_description(tpl.labels["death.ends"], lead=_IF_YOU_DIE_LEAD)
    rule = post_mortem_rule(jurisdiction)
    if rule is None:
        text = Template(tpl.labels["death.survives_but_no_rights"]).substitute(
            jurisdiction=jurisdiction or "your jurisdiction"
        )
        return _wrap_description(text, lead=_IF_YOU_DIE_LEAD)
    text = Template(tpl.labels["death.survives"]).substitute(
        period=Template(tpl.labels.get("years", "$n years")).substitute(n=rule.years),
        jurisdiction=rule.jurisdiction,
        source=rule.source,
    )
    return _wrap_description(text, lead=_IF_YOU_DIE_LEAD)


def render(
    terms: dict[str, Any],
    *,
    studio_id: str,
    studio_name: str,
    issuer: str,
    language: str = DEFAULT_LANGUAGE,
    version: str = CURRENT_VERSION,
    jurisdiction: str = "",
    time_zone: str | None = None,
) -> str:
    """The notice text for normalised `terms`; deterministic for the same inputs.

    `jurisdiction` is the holder's: from template 2026-11-v2 the notice says whether the
    consent survives the holder's death and until when at the latest (its post-mortem period).
    """
    tpl = TEMPLATES.get((version, language))
    if tpl is None:
        raise UnknownTemplate(f"no notice template {version!r} in language {language!r}")
    if version in STRUCTURED_VERSIONS:
        return _render_structured(
            terms,
            tpl,
            studio_id=studio_id,
            studio_name=studio_name,
            issuer=issuer,
            jurisdiction=jurisdiction,
            time_zone=time_zone or "UTC",
        )
    yes_no = tpl.labels["yes"] if terms["replaces_in_person_work"] else tpl.labels["no"]
    text = Template(tpl.body).substitute(
        template_version=tpl.version,
        language=tpl.language,
        studio_name=" ".join(studio_name.split()),
        studio_id=studio_id,
        project=" ".join(terms["project"].split()),
        attributes=_list(terms["attributes"], tpl),
        replica_type=tpl.labels.get(terms["replica_type"], terms["replica_type"]),
        replaces_in_person_work=yes_no,
        intended_use_description=_wrap_description(terms["intended_use_description"]),
        purposes=_list(terms["purposes"], tpl),
        media=_list(terms["media"], tpl),
        territories=_list(terms["territories"], tpl),
        prohibited_uses=_list(terms["prohibited_uses"], tpl),
        valid_from=terms["valid_from"],
        valid_until=terms["valid_until"],
        representation=_representation(terms["representation"], tpl),
        compensation=_compensation(terms.get("compensation"), tpl),
        issuer=issuer,
        if_you_die=_if_you_die(terms, jurisdiction, tpl),
    )
    return text


def _in_words(moment: str, zone: ZoneInfo, tpl: NoticeTemplate) -> str:
    """`2026-12-01T00:00:00Z` as `1 December 2026 at 00:00`, in the holder's time zone."""
    local = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(zone)
    months = tpl.labels["months"].split()
    day = tpl.labels.get("day1", "1") if local.day == 1 else str(local.day)
    return Template(tpl.labels["date"]).substitute(
        day=day, month=months[local.month - 1], year=local.year, time=local.strftime("%H:%M")
    )


def _choices_lines(terms: dict[str, Any], tpl: NoticeTemplate) -> str:
    lines = []
    offered = offered_choices(terms)
    for dimension in CHOOSABLE:
        for item in offered.get(dimension, []):
            kind = tpl.labels[f"dimension.{dimension}"].capitalize()
            line = f"- {kind}{tpl.labels.get('colon', ': ')}{tpl.labels.get(item, item)}"
            explanation = tpl.labels.get(f"explain.{item}")
            if explanation:
                line += f". {explanation}"
            lines.append(line)
    return "\n".join(lines)


def _render_structured(
    terms: dict[str, Any],
    tpl: NoticeTemplate,
    *,
    studio_id: str,
    studio_name: str,
    issuer: str,
    jurisdiction: str,
    time_zone: str,
) -> str:
    """A v3 notice: one block per line, the choices apart, dates in the holder's time zone."""
    offered = offered_choices(terms)

    def asked_whole(dimension: str) -> str:
        items = [i for i in terms[dimension] if i not in offered.get(dimension, ())]
        return _list(items, tpl) if items else tpl.labels["only_choices"]

    zone = ZoneInfo(time_zone)
    section = ""
    if offered:
        section = Template(tpl.labels["choices_section"]).substitute(
            choices=_choices_lines(terms, tpl)
        )
    return Template(tpl.body).substitute(
        template_version=tpl.version,
        language=tpl.language,
        studio_name=" ".join(studio_name.split()),
        studio_id=studio_id,
        project=" ".join(terms["project"].split()),
        attributes=asked_whole("attributes"),
        replica_type=tpl.labels.get(terms["replica_type"], terms["replica_type"]),
        replaces_in_person_work=(
            tpl.labels["yes"] if terms["replaces_in_person_work"] else tpl.labels["no"]
        ),
        intended_use_description=" ".join(terms["intended_use_description"].split()),
        purposes=asked_whole("purposes"),
        media=asked_whole("media"),
        territories=", ".join(vocabulary.label_in(t, tpl.language) for t in terms["territories"]),
        prohibited_uses=_list(terms["prohibited_uses"], tpl),
        choices_section=section,
        valid_from=_in_words(terms["valid_from"], zone, tpl),
        valid_until=_in_words(terms["valid_until"], zone, tpl),
        time_zone=time_zone,
        representation=_representation(terms["representation"], tpl),
        compensation=" ".join(_compensation(terms.get("compensation"), tpl).split()),
        issuer=issuer,
        portal=f"{issuer.rstrip('/')}/portal",
        if_you_die=" ".join(_if_you_die(terms, jurisdiction, tpl).split()),
    )


def choices_sha256(notice_sha256: str, accepted: dict[str, list[str]]) -> str:
    """The hash that binds a notice and the holder's choices: what a granular acceptance quotes.

    SHA-256 (lower-case hex) of UTF-8 lines, each ending in a line feed: first the notice's
    SHA-256 in lower-case hex, then one `dimension:item` line per accepted optional item,
    dimensions in the order attributes, media, purposes and items sorted. With no optional
    item accepted it is the hash of the notice hash's line alone.
    """
    lines = [notice_sha256.lower()]
    for dimension in CHOOSABLE:
        lines += [f"{dimension}:{item}" for item in sorted(set(accepted.get(dimension, ())))]
    return hashlib.sha256("".join(f"{line}\n" for line in lines).encode("utf-8")).hexdigest()


def sha256_of(text: str) -> str:
    """Lower-case hex SHA-256 of the notice's UTF-8 bytes: what the acceptance quotes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

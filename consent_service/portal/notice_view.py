"""The notice as structured HTML, read from its one canonical text.

The holder signs the canonical text (its SHA-256 is what the acceptance quotes). The page shows
that same text with its structure: a v3 notice marks each block on its own line ("# " a title,
"## " a section heading, "- " a list item, anything else a paragraph). Every word on the page
comes from the text itself, in its order, so the structured view cannot say something the
hashed text does not; the template escapes it all (nothing typed by a studio becomes markup).

Hand-written rather than a Markdown library on purpose: Markdown would also interpret what a
studio typed inside a line (`*`, `[link](...)`, backslashes) and so show text that differs from
the bytes that were hashed. Only these line prefixes are read; the rest is shown as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from consent_service.consents.notice import STRUCTURED_VERSIONS

# A list item "Label: value" shows its label in bold when the label is short and plain.
_LABEL_MAX = 60


@dataclass(slots=True)
class Item:
    label: str | None
    text: str


@dataclass(slots=True)
class Block:
    kind: Literal["title", "heading", "paragraph", "list"]
    text: str = ""
    items: list[Item] = field(default_factory=list)


def _item(line: str) -> Item:
    head, sep, rest = line.partition(": ")
    if sep and len(head) <= _LABEL_MAX and "." not in head:
        return Item(label=f"{head}:", text=rest)
    return Item(label=None, text=line)


def blocks(text: str, template_version: str) -> list[Block] | None:
    """The blocks of a structured notice; None for an older, preformatted one (v1, v2)."""
    if template_version not in STRUCTURED_VERSIONS:
        return None
    out: list[Block] = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line.startswith("## "):
            out.append(Block("heading", line[3:]))
        elif line.startswith("# "):
            out.append(Block("title", line[2:]))
        elif line.startswith("- "):
            if not out or out[-1].kind != "list":
                out.append(Block("list"))
            out[-1].items.append(_item(line[2:]))
        else:
            out.append(Block("paragraph", line))
    return out

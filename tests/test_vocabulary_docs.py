"""docs/holders.md uses the words of consent_service.vocabulary: the one vocabulary the notice
and the portal take their words from. Run this file with REGENERATE_DOCS=1 to rewrite the
tables after changing the vocabulary."""

from __future__ import annotations

import os
import re
from pathlib import Path

from consent_service import vocabulary

DOC = Path(__file__).resolve().parents[1] / "docs" / "holders.md"


def _vocabulary_table() -> str:
    rows = ["| Code | In words |", "| --- | --- |"]
    for title, table in (
        ("Parts of your likeness", vocabulary.ATTRIBUTES),
        ("Uses", vocabulary.PURPOSES),
        ("Where it may be shown", vocabulary.MEDIA),
        ("Never for (by default)", vocabulary.PROHIBITED_USES),
    ):
        rows.append(f"| **{title}** | |")
        rows += [f"| `{code}` | {words} |" for code, words in table.items()]
    return "\n".join(rows)


def _warnings_list() -> str:
    return "\n".join(f"- **{code}**: {text}" for code, text in vocabulary.WARNINGS.items())


def _section(text: str, name: str) -> str:
    match = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert match, f"docs/holders.md has no {name} block"
    return match.group(1)


def test_the_holders_guide_uses_the_vocabulary_words():
    text = DOC.read_text()
    if os.environ.get("REGENERATE_DOCS"):
        for name, body in (("vocabulary", _vocabulary_table()), ("warnings", _warnings_list())):
            text = text.replace(_section(text, name), body)
        DOC.write_text(text)
    assert _section(text, "vocabulary") == _vocabulary_table()
    assert _section(text, "warnings") == _warnings_list()

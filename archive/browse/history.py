"""What changed between two versions of an article, word by word.

word_diff(old, new) is a pure function of two texts: a list of (op, text) pieces whose
"same" and "ins" pieces join to `new` and whose "same" and "del" pieces join to `old`.
diff_markup() renders them as HTML with every piece escaped: <del> for removed words,
<ins> for added ones.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Literal

from markupsafe import Markup, escape

Op = Literal["same", "del", "ins"]

# Words and the whitespace between them are tokens of their own, so a changed word is
# one token and the text's own line breaks (its paragraphs) survive the diff.
_TOKENS = re.compile(r"\s+|\S+")


def _append(pieces: list[tuple[Op, str]], op: Op, text: str) -> None:
    if not text:
        return
    if pieces and pieces[-1][0] == op:
        pieces[-1] = (op, pieces[-1][1] + text)
    else:
        pieces.append((op, text))


def _diff_words(old: str, new: str, pieces: list[tuple[Op, str]]) -> None:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    # Spaces never start a match (each is a candidate everywhere: slow), only extend one.
    # autojunk off: in a long block it would ignore common words ("the") and so mark
    # unchanged sentences as rewritten.
    matcher = SequenceMatcher(str.isspace, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _append(pieces, "same", "".join(a[i1:i2]))
        else:
            _append(pieces, "del", "".join(a[i1:i2]))
            _append(pieces, "ins", "".join(b[j1:j2]))


def word_diff(old: str | None, new: str | None) -> list[tuple[Op, str]]:
    """The pieces that turn `old` into `new`, in order: ("same", text), ("del", text) for
    words only in `old`, ("ins", text) for words only in `new`. Adjacent pieces of one op are
    merged; a replacement is its "del" then its "ins". None counts as the empty text.

    Joining the "same" and "del" texts gives `old` back; "same" and "ins" give `new`.
    """
    # Lines (paragraphs) first, then words inside the lines that changed: a word-level
    # match over a whole article costs seconds (every "the" and space is a candidate).
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    pieces: list[tuple[Op, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            _append(pieces, "same", "".join(a[i1:i2]))
        else:
            _diff_words("".join(a[i1:i2]), "".join(b[j1:j2]), pieces)
    return pieces


_TAGS = {"same": "{0}", "del": "<del>{0}</del>", "ins": "<ins>{0}</ins>"}


def diff_markup(old: str | None, new: str | None) -> Markup:
    """word_diff(old, new) as HTML: removed words in <del>, added words in <ins>, everything
    escaped (the texts are archived content, never markup)."""
    return Markup("").join(
        Markup(_TAGS[op]).format(escape(text)) for op, text in word_diff(old, new)
    )


def changed(old: str | None, new: str | None) -> bool:
    """Whether the two texts differ in more than whitespace."""
    return (old or "").split() != (new or "").split()

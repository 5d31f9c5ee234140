"""Text, never markdown: values from the address or the data shown as the characters they are.

Streamlit renders markdown in st.markdown, captions, alerts, titles, widget labels and help,
metrics, page links, pill options and st.table cells. A value from the address or the data
(a child id, a goal id, a team name, a file name) goes through ``md_escape`` (or ``md_code``)
before it is put into any of them, so it shows as the characters it is made of: never a
link, an image, a code span that closes the one around it, a :color[...] or :material/...:
directive, or LaTeX. ``plotly_text`` does the same for a chart's text (link tags).
"""

from __future__ import annotations

import re
from typing import Any


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|<>~$:&])")
# at the start of a text: a list item, a thematic break or a setext underline, an ordered list
_MD_LEADING = re.compile(r"^(\s*)([-+=]|\d+(?=[.]))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# GitHub-flavoured markdown links bare URLs, www. addresses and e-mail addresses in the text
# itself (after escapes are read), so a word joiner (U+2060, invisible) goes where it breaks them
_AUTOLINK = re.compile(r"(?i)(:(?=//)|@|www(?=\.))")
WORD_JOINER = "\u2060"


def md_escape(value: Any) -> str:
    """``value`` as markdown text that renders as exactly its characters.

    Every character markdown or Streamlit gives a meaning to within a line is
    backslash-escaped (CommonMark: an escaped punctuation character is always literal):
    backticks, ``*`` ``_`` ``~`` (emphasis), brackets and parentheses (links, images),
    braces, ``!``, ``#``, ``|`` (tables), ``<`` ``>`` (autolinks, HTML), ``$`` (LaTeX), ``&``
    (entities) and ``:`` (Streamlit's ``:red[...]`` and ``:material/icon:`` directives);
    ``-``, ``+``, ``=`` and ``1.`` are escaped where they would start a block. Line breaks
    and control characters become one space (no new block). GFM links bare URLs, ``www.``
    addresses and e-mail addresses in the text itself (after escapes are read), so a word
    joiner (U+2060, invisible) follows every ``:`` before ``//``, every ``@`` and every
    ``www`` before a dot. Emoji short codes (``:smile:``) stay text too.
    """
    text = _CONTROL.sub(" ", str(value))
    text = _AUTOLINK.sub(lambda m: m.group(1) + WORD_JOINER, text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    m = _MD_LEADING.match(text)
    if m:
        if m.group(2)[0].isdigit():  # "1." -> "1\."
            end = m.end()
            text = text[:end] + "\\" + text[end:]
        else:
            text = m.group(1) + "\\" + text[len(m.group(1)):]
    return text


def md_code(value: Any) -> str:
    """``value`` as one inline code span (monospace, nothing inside it is markdown): the
    fence is one backtick longer than the longest run of backticks in the value."""
    text = _CONTROL.sub(" ", str(value))
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_PLOTLY_LINK = re.compile(r"<(?=\s*/?\s*a\b)", re.IGNORECASE)


def plotly_text(value: Any) -> Any:
    """``value`` (a figure's dict, list or text) with every ``<a ...>`` tag made literal text:
    Plotly draws ``<a href=...>`` in titles, labels, legends and hover text as a link, and
    a data value (a therapist id) could carry one. Our own charts use no links."""
    if isinstance(value, str):
        return _PLOTLY_LINK.sub("&lt;", value) if "<" in value else value
    if isinstance(value, dict):
        return {k: plotly_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plotly_text(v) for v in value)
    if getattr(value, "dtype", None) is not None and value.dtype == object:  # numpy arrays of text
        import numpy as np
        return np.array([plotly_text(v) for v in value.ravel()], dtype=object).reshape(value.shape)
    return value

"""The word-level diff behind an article's history (archive.browse.history)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from archive.browse.history import changed, diff_markup, word_diff


def old_and_new(pieces: list[tuple[str, str]]) -> tuple[str, str]:
    old = "".join(text for op, text in pieces if op != "ins")
    new = "".join(text for op, text in pieces if op != "del")
    return old, new


def test_a_replaced_word_is_removed_then_added_between_unchanged_words():
    assert word_diff("The quick brown fox.", "The slow brown fox.") == [
        ("same", "The "),
        ("del", "quick"),
        ("ins", "slow"),
        ("same", " brown fox."),
    ]


def test_identical_texts_are_one_unchanged_piece():
    assert word_diff("One.\nTwo.", "One.\nTwo.") == [("same", "One.\nTwo.")]
    assert word_diff("", "") == []


def test_a_first_version_is_all_added_and_a_removal_all_removed():
    assert word_diff(None, "New text.") == [("ins", "New text.")]
    assert word_diff("Old text.", None) == [("del", "Old text.")]


def test_unchanged_paragraphs_stay_whole_around_an_edited_one():
    old = "First paragraph stays.\nSecond one says yes.\nThird stays too."
    new = "First paragraph stays.\nSecond one says no.\nThird stays too.\nA fourth."
    pieces = word_diff(old, new)
    assert pieces[0] == ("same", "First paragraph stays.\nSecond one says ")
    assert ("del", "yes.") in pieces and ("ins", "no.") in pieces
    assert pieces[-1] == ("ins", "\nA fourth.")
    assert old_and_new(pieces) == (old, new)


def test_words_only_moved_across_lines_keep_their_text():
    pieces = word_diff("alpha beta\ngamma", "alpha\nbeta gamma")
    assert old_and_new(pieces) == ("alpha beta\ngamma", "alpha\nbeta gamma")
    assert not changed("alpha beta\ngamma", "alpha\nbeta gamma")
    assert changed("alpha beta", "alpha gamma")
    assert not changed(None, "")


def test_markup_wraps_removed_and_added_words_and_escapes_everything():
    html = diff_markup("Say <b>hi</b> & go", 'Say <script>alert("x")</script> & go')
    assert html == (
        "Say <del>&lt;b&gt;hi&lt;/b&gt;</del>"
        "<ins>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</ins> &amp; go"
    )
    assert "<script>" not in html and "<b>" not in html


def test_unicode_controls_are_kept_as_text():
    rtl, zero_width = "\u202eevil", "zero\u200bwidth"
    assert word_diff(f"a {zero_width}", f"a {rtl}") == [
        ("same", "a "),
        ("del", zero_width),
        ("ins", rtl),
    ]


WORDS = st.lists(
    st.one_of(
        st.sampled_from(["the", "a", "scaling", "law", "<i>", "&", "ü", "\u202e"]),
        st.sampled_from([" ", "  ", "\n", "\t", " \n "]),
    ),
    max_size=40,
).map("".join)


@given(WORDS, WORDS)
def test_the_pieces_always_give_back_both_texts(old, new):
    pieces = word_diff(old, new)
    assert old_and_new(pieces) == (old, new)
    assert all(text for _, text in pieces)  # no empty pieces
    assert all(a[0] != b[0] for a, b in pairwise(pieces))  # merged

"""Build tests/testbed/posts.json: the posts the test WordPress is filled with.

The three seed articles come from the plain-text tag pages in ../shared/seeds (turned back
into block markup: short stand-alone lines become headings, "•" lines list items, deeper
indentation nested lists). The other posts are written here to exercise what real blogs do:
pagination, overlapping tags, entities and curly quotes in titles, a post without headings,
deep lists, an image, a sticky post, a draft and a password-protected post.

Run from the repository root:  python tests/testbed/make_posts.py ../shared/seeds
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent

# Which seed article is listed under which seed tag, and when it was published. The seed
# tag pages list newest first; the dates keep that order.
SEED_META = {
    "Andrej Karpathy on the Decade": ("2025-10-18 09:30:00", ["AI scaling", "scaling laws"]),
    "Dwarkesh Patel: From Podcasting": ("2025-03-27 14:05:00", ["scaling laws"]),
    "The AI Revolution Unveiled": ("2025-02-20 08:00:00", ["scaling laws"]),
}


def paragraph(text: str) -> str:
    return f"<!-- wp:paragraph -->\n<p>{html.escape(text, quote=False)}</p>\n<!-- /wp:paragraph -->"


def heading(text: str, level: int = 2) -> str:
    attrs = "" if level == 2 else f' {{"level":{level}}}'
    return (
        f"<!-- wp:heading{attrs} -->\n<h{level}>{html.escape(text, quote=False)}</h{level}>\n"
        "<!-- /wp:heading -->"
    )


def bullet_html(text: str) -> str:
    # "Label: rest" bullets carry a bold label on pjfp.com.
    label, sep, rest = text.partition(": ")
    if sep and len(label) < 60:
        return (
            f"<strong>{html.escape(label, quote=False)}:</strong> {html.escape(rest, quote=False)}"
        )
    return html.escape(text, quote=False)


def nested_list(items: list[tuple[int, str]], ordered: bool = False) -> str:
    """items: (depth, text) in document order -> one <ul> with nested <ul> children."""
    tag = "ol" if ordered else "ul"
    out: list[str] = []
    depth = -1
    for item_depth, text in items:
        if item_depth > depth:
            out.extend(f"<{tag}>" for _ in range(item_depth - depth))
        else:
            out.append("</li>")
            for _ in range(depth - item_depth):
                out.append(f"</{tag}></li>")
        out.append(f"<li>{bullet_html(text)}")
        depth = item_depth
    out.append("</li>")
    for _ in range(depth):
        out.append(f"</{tag}></li>")
    out.append(f"</{tag}>")
    attrs = ' {"ordered":true}' if ordered else ""
    return f"<!-- wp:list{attrs} -->\n{''.join(out)}\n<!-- /wp:list -->"


def seed_articles(seed_dir: Path) -> list[dict]:
    """Split the seed tag pages into articles; an article on both pages is kept once."""
    articles: dict[str, dict] = {}
    for path in sorted(seed_dir.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        current: dict | None = None
        for index, line in enumerate(lines):
            if line.startswith("  • "):
                title = line[4:].strip()
                current = articles.setdefault(title, {"title": title, "lines": None})
                current["_collect"] = current["lines"] is None
                if current["_collect"]:
                    current["lines"] = []
                continue
            if current is not None and current["_collect"]:
                current["lines"].append((index, line))
    posts = []
    for title, article in articles.items():
        blocks = to_blocks([line for _, line in article["lines"]])
        date, tags = next(meta for prefix, meta in SEED_META.items() if title.startswith(prefix))
        posts.append(
            {
                "title": title,
                "date": date,
                "tags": tags,
                "categories": ["Technology"],
                "author": "pjfp",
                "content": "\n\n".join(blocks),
            }
        )
    return posts


def to_blocks(lines: list[str]) -> list[str]:
    blocks: list[str] = []
    pending_list: list[tuple[int, str]] = []

    def flush_list() -> None:
        if pending_list:
            blocks.append(nested_list(pending_list))
            pending_list.clear()

    stripped = [line.rstrip() for line in lines]
    for i, line in enumerate(stripped):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        text = line.strip()
        if text.startswith("• "):
            pending_list.append(((indent - 4) // 2, text[2:].strip()))
            continue
        flush_list()
        before = stripped[i - 1].strip() if i else ""
        after = stripped[i + 1].strip() if i + 1 < len(stripped) else ""
        is_heading = (
            not before and not after and len(text) < 70 and not text.endswith((".", ":", "?", "!"))
        )
        blocks.append(heading(text) if is_heading else paragraph(text))
    flush_list()
    return blocks


def own_posts() -> list[dict]:
    """Posts written for the test bed: each one exists to exercise a case."""
    lorem = (
        "Compounding works quietly: small, repeated improvements add up to results that "
        "look sudden from the outside."
    )
    posts = [
        {
            "title": "Fish & Chips: “Curly” Quotes, ‘Single’ Ones — and Tom’s <Best> Ideas",
            "date": "2025-09-02 10:00:00",
            "tags": ["podcasts", "quotes"],
            "categories": ["Books"],
            "author": "ada",
            "content": "\n\n".join(
                [
                    heading("TL;DR"),
                    paragraph(
                        "Entities & quotes in a title must come out as the reader sees them."
                    ),
                    heading("Key Takeaways"),
                    nested_list(
                        [(0, "Ampersands: “&” stays an ampersand."), (0, "Dashes: em — and en –.")]
                    ),
                ]
            ),
        },
        {
            "title": "A Post Without Any Headings",
            "date": "2025-08-15 07:45:00",
            "tags": ["productivity"],
            "categories": ["Uncategorized"],
            "author": "pjfp",
            "content": "\n\n".join(paragraph(f"{lorem} Paragraph {n}.") for n in range(1, 4)),
        },
        {
            "title": "Deeply Nested Questions and Answers",
            "date": "2025-07-30 18:20:00",
            "tags": ["podcasts", "ai-agents"],
            "categories": ["Technology"],
            "author": "ada",
            "content": "\n\n".join(
                [
                    paragraph("An introduction before the first heading."),
                    heading("The Big Questions Raised—and Answered"),
                    nested_list(
                        [
                            (0, "Will agents replace apps?"),
                            (1, "Answer: Not soon; they will sit on top of them."),
                            (2, "Caveat: Except for simple forms."),
                            (0, "Who is liable when an agent errs?"),
                            (1, "Answer: Whoever deployed it, for now."),
                        ]
                    ),
                    heading("Steps", 3),
                    nested_list([(0, "First"), (0, "Second"), (1, "Second, part a")], ordered=True),
                ]
            ),
        },
        {
            "title": "A Picture Worth Archiving",
            "date": "2025-07-01 12:00:00",
            "tags": ["history"],
            "categories": ["Technology", "Books"],
            "author": "pjfp",
            "content": "\n\n".join(
                [
                    heading("Summary"),
                    paragraph("This post carries an image and two links."),
                    '<!-- wp:image -->\n<figure class="wp-block-image"><img src="/wp-content/uploads/ta/pixel.png" '
                    'alt="A single test pixel"/></figure>\n<!-- /wp:image -->',
                    '<!-- wp:paragraph -->\n<p>See <a href="https://example.org/source">the source</a> and '
                    '<a href="/about/">about</a>.</p>\n<!-- /wp:paragraph -->',
                ]
            ),
        },
        {
            "title": "Pinned: Start Here",
            "date": "2024-01-05 09:00:00",
            "tags": ["history", "productivity"],
            "categories": ["Uncategorized"],
            "author": "pjfp",
            "sticky": True,
            "content": "\n\n".join(
                [heading("Summary"), paragraph("A sticky post, old but pinned to the front page.")]
            ),
        },
        {
            "title": "Draft: Never Published",
            "date": "2025-10-01 09:00:00",
            "tags": ["history", "podcasts"],
            "categories": ["Uncategorized"],
            "author": "pjfp",
            "status": "draft",
            "content": paragraph("This draft must never reach the archive."),
        },
        {
            "title": "Members Only Notes",
            "date": "2025-06-20 09:00:00",
            "tags": ["history", "podcasts"],
            "categories": ["Uncategorized"],
            "author": "pjfp",
            "password": "secret",
            "content": "\n\n".join(
                [heading("Secret"), paragraph("Password-protected text must not be stored.")]
            ),
        },
    ]
    # Enough plain posts under "history" to paginate (3 posts per page in the test bed).
    for n in range(1, 9):
        tags = (
            ["history"]
            + (["productivity"] if n % 2 else [])
            + (["ai-agents"] if n % 3 == 0 else [])
        )
        posts.append(
            {
                "title": f"History Notes, Part {n}",
                "date": f"2025-0{(n % 5) + 1}-{10 + n} 06:00:00",
                "tags": tags,
                "categories": ["Books"] if n % 2 else ["Technology"],
                "author": "ada" if n % 2 else "pjfp",
                "content": "\n\n".join(
                    [
                        heading("TL;DR"),
                        paragraph(f"Part {n} of a series. {lorem}"),
                        heading("Key Takeaways"),
                        nested_list([(0, f"Takeaway {n}.{k}: {lorem}") for k in range(1, 4)]),
                        heading("Discussion"),
                        paragraph(f"Discussion of part {n}."),
                    ]
                ),
            }
        )
    return posts


def main(seed_dir: str) -> None:
    posts = seed_articles(Path(seed_dir)) + own_posts()
    out = HERE / "posts.json"
    out.write_text(json.dumps(posts, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(posts)} posts to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/seeds")

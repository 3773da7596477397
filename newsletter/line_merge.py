"""Carrying an edit of a re-rendered text back into the original text, line by line.

A YAML dumper renders a file a little differently from how it was written (spacing, quoting,
indentation). To change only what an edit changed, the edit is taken as the difference between
two renderings (before and after) and applied to the original lines: a three-way line merge.
"""

from __future__ import annotations

import difflib


def merge_lines(original: list[str], base: list[str], theirs: list[str]) -> list[str]:
    """Apply the change base → theirs to `original`, which base renders (perhaps reformatted).

    A classic diff3 over the lines the three share. Where only the edit changed lines, its lines
    are taken; where only the rendering differs, the original's. Where both did, the edit wins.
    """
    to_original, to_theirs = matching_lines(base, original), matching_lines(base, theirs)
    anchors = [(b, to_original[b], to_theirs[b])
               for b in sorted(to_original.keys() & to_theirs.keys())]
    anchors.append((len(base), len(original), len(theirs)))
    out: list[str] = []
    b0 = o0 = t0 = 0
    for b, o, t in anchors:
        _resolve(out, original[o0:o], base[b0:b], theirs[t0:t])
        out.extend(original[o:o + 1])
        b0, o0, t0 = b + 1, o + 1, t + 1
    return out


def matching_lines(a: list[str], b: list[str]) -> dict[int, int]:
    """For each line of `a` that `b` shares (in order), the number of its partner in `b`."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return {block.a + k: block.b + k
            for block in matcher.get_matching_blocks() for k in range(block.size)}


def is_filler(line: str) -> bool:
    """A blank or comment-only line."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _resolve(out: list[str], mine: list[str], base: list[str], theirs: list[str]) -> None:
    """One region between shared lines; works around where ruamel hangs comments.

    ruamel attaches a comment line to the node before it, so lines it adds after a node land
    after that node's trailing comments, and removing a node removes them: added lines go above
    a run of comment and blank lines, and a removal keeps such a trailing run.
    """
    if theirs == base:
        out.extend(mine)
    elif mine != base:
        out.extend(_both_changed(mine, base, theirs))
    elif not base:
        at = len(out) - len(filler_tail(out)) or len(out)
        out[at:at] = theirs
    else:
        out.extend(theirs)
        tail = filler_tail(base)
        if tail and theirs[len(theirs) - len(tail):] != tail:
            out.extend(tail)


def _both_changed(mine: list[str], base: list[str], theirs: list[str]) -> list[str]:
    """Rendering and edit touched one region: keep the original where the edit did not reach.

    That is only clear line by line when the rendering kept the number of lines (it usually
    does: it respaces, requotes or reindents); otherwise the edit's lines are taken whole.
    """
    if len(mine) != len(base):
        return theirs
    merged: list[str] = []
    matcher = difflib.SequenceMatcher(None, base, theirs, autojunk=False)
    for tag, b1, b2, t1, t2 in matcher.get_opcodes():
        merged.extend(mine[b1:b2] if tag == "equal" else theirs[t1:t2])
    return merged


def filler_tail(lines: list[str]) -> list[str]:
    """The blank and comment-only lines at the end of `lines`."""
    end = len(lines)
    while end > 0 and is_filler(lines[end - 1]):
        end -= 1
    return lines[end:]

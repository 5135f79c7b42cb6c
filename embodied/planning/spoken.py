"""Spontaneous speech made into a plain command, before the grounded planner reads it.

People do not type commands the way a grammar wants them. This module undoes these habits,
each by kind, never by listing sentences:

- **typos** ("plcae the yelow cueb"): a word that is neither one the planner reads
  (:mod:`embodied.planning.lexicon`) nor an English word (the sentence encoder's word-piece
  vocabulary) becomes the one planner word within one edit (two for words of seven letters
  or more), when exactly one is nearest. A real word is never changed, so "pop" stays
  "pop" and an unknown colour stays unknown.
- **self-repairs** ("put it on the blue one, no wait, on the green one"; "move the green
  cube, I mean the blue cube, to the left"): what follows the repair marker replaces the
  phrase of the same kind before it: a place replaces the last clause's place, an object
  the last object named, a whole object-and-place everything after the verb. A repair that
  starts with a verb ("..., actually put it on the blue one") replaces the whole clause:
  the text keeps a :data:`REPAIR` mark there and the planner drops what the clause before
  it asked for.
- **exclusions** ("put the yellow cube, not the red one, on the blue cube"; "not on the
  blue cube but on the yellow cube"): the excluded phrase goes.
- **hesitations** at the start ("um,", "right,", "ok so,").
- **shorthand and closing remarks**: "can u put ... pls"; "... and leave it there", "...,
  then let go", "and that's it" after a placement, which already ends with the cube released.
- **a topic named first** ("the yellow block, could you push it to the left"): the
  object is put where the command's "it" stands.

Every function takes and returns lower-case text with the planner's punctuation (commas;
colons already made commas) and is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from embodied.planning import lexicon as lx

REPAIR = "repair_mark"
"""Kept in the text where a repair that starts with a verb begins: the planner splits clauses
there and drops the goals of the clause before it (:meth:`GroundedPlanner._read`)."""

_RUN_TOGETHER = {
    "ontop": "on top",
    "nextto": "next to",
    "infront": "in front",
    "leftof": "left of",
    "rightof": "right of",
    "ontothe": "onto the",
    "onthe": "on the",
    "tothe": "to the",
}
"""Two words typed as one; no edit distance finds these."""

_SHORTHAND = {"u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks", "ty": "thanks",
              "n": "and", "&": "and", "+": "and", "w/": "with", "abt": "about", "nxt": "next"}  # fmt: skip
"""Texting shorthand, read as the words it stands for."""

_CLOSING = re.compile(
    r",?\s*\b(?:and |then |,)*(?:(?:leave|drop|release|set|put|place|let) (?:it|them)(?: down)? "
    r"(?:there|right there|in place|where it is)|let (?:it |them )?go(?: of (?:it|them))?|release (?:it|them)|"
    r"leave (?:it|them)|(?:that's|that is) (?:it|all)|(?:you're|you are|we're|we are) done)\b\s*(?=[,.!]|$)"
)
"""A closing remark after a placement ("... and leave it there", "..., then let go", "and
that's it"): the placement already ends with the cube released where it was put."""

_MARKERS = (
    r"no,? wait|wait,? no|no,? sorry|sorry,? no|sorry|oops|i mean|i meant|or rather|rather|actually|wait|"
    r"no(?! (?:matter|problem|need|worries|doubt|rush|hurry)\b)|um+|uh+|er+m?|hmm+|"
    r"correction|make (?:that|it)|scratch that|my bad|my mistake"
)
_MARKER_RUN = re.compile(
    rf"(?:^|[,.;!?])\s*(?:(?:{_MARKERS})\b[\s,.!]*)+|\s+(?:(?:or rather|i mean|i meant|no,? wait)\b[\s,]*)+"
)
"""One or more repair markers: after a comma or a full stop ("..., no, on the green one"), or the unambiguous
ones without ("... on the blue i mean the yellow cube")."""

_TRAILING_MARKER = re.compile(r"\s*\b(?:i mean|i meant|sorry|instead)$")
_HESITATION = re.compile(
    r"^(?:(?:um+|uh+|er+m?|hmm+|ah+|oh+|so|ok(?:ay)?|alright|all right|right|well|now|actually|sorry|"
    r"basically|like)\b[\s,]*)+"
)
_EXCLUDED_ASIDE = re.compile(r"(?:,\s*not|(?:,\s*|\s+)(?:rather than|instead of)) (?!only\b)[^,]+?(?:,|$)")
_EXCLUDED_LEAD = re.compile(r"^not (?:the|that|this) [^,]+,\s*")
_NOT_BUT = re.compile(r"\bnot (?!only\b)[^,]+?,? but (?:rather |instead )?")

_RELATION_START = frozenset(
    "on onto to into in at next beside besides alongside near by toward towards over upon atop above left right "
    "close against".split()
)
"""First words of a place phrase ("on the blue one", "to the left", "next to ...")."""
_SEQUENCE_WORDS = frozenset("then after afterwards next finally and before once when".split())
_VERBS = lx.ACTION_VERBS
_OBJECT_WORDS = frozenset(lx.COLOURS) | lx.CUBE_NOUNS | lx.GENERIC_NOUNS | lx.PRONOUNS


def planner_words() -> frozenset[str]:
    """Every word the grounded planner reads directly: the targets of typo correction."""
    relation = (
        "on onto top of to into in at next beside alongside left right middle center centre front back far near "
        "side edge corner half table desk then after before and but not instead up down over upon atop above "
        "bottom base tower it them that this is are the"
    ).split()
    groups: Iterable[Iterable[str]] = (
        lx.COLOURS, lx.CUBE_NOUNS, lx.GENERIC_NOUNS, lx.PLACE_VERBS, lx.GRASP_VERBS, lx.PUSH_VERBS,
        lx.TOWER_VERBS, lx.TOWER_NOUNS, lx.UNSUPPORTED_VERBS, lx.FILLERS, lx.DETERMINERS, lx.ALL_WORDS,
        lx.PRONOUNS, lx.NON_COLOUR_MODIFIERS, lx.OUTCOME_WORDS, lx.OTHER_SHAPES, relation,
    )  # fmt: skip
    return frozenset(w for g in groups for w in g if w.isalpha())


@lru_cache(maxsize=4)
def english_words(encoder_path: str) -> frozenset[str]:
    """Whole words of the encoder's word-piece vocabulary (``vocab.txt``), empty when it has none:
    then no word counts as a typo, since a real word could not be told from one."""
    vocab = Path(encoder_path) / "vocab.txt"
    if not vocab.is_file():
        return frozenset()
    return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha() and w.islower())


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap two neighbours);
    anything above ``limit`` is returned as ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)


def _affix(a: str, b: str) -> int:
    """Letters shared at the start plus at the end: breaks ties between equally near words."""
    n = min(len(a), len(b))
    start = next((k for k in range(n) if a[k] != b[k]), n)
    end = next((k for k in range(n) if a[-1 - k] != b[-1 - k]), n)
    return start + end


_CORE = (
    frozenset(lx.COLOURS)
    | lx.CUBE_NOUNS
    | lx.GENERIC_NOUNS
    | lx.PLACE_VERBS
    | lx.GRASP_VERBS
    | lx.PUSH_VERBS
    | lx.DETERMINERS
    | lx.PRONOUNS
    | _RELATION_START
    | frozenset("top middle center centre front back far side".split())
)
"""The words a command is made of; a typo is read as one of these before a rarer planner word
("stak" is "stack", not "stay")."""


def correct_typos(text: str, known: frozenset[str], english: frozenset[str]) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with misspelt planner words corrected, and the (typed, read) pairs.

    A word of three letters or more that is in neither ``known`` nor ``english`` is replaced
    by the ``known`` word nearest to it (one edit; two for seven letters or more). Among the
    nearest, a command word (:data:`_CORE`) goes first, then one of the same length (a
    swapped or mistyped letter, the commonest slips: "lfet" is "left", not "let"), then one
    sharing more letters at both ends; a verb is never chosen right before another verb
    ("pleace put" is "please put"). A tie through all that leaves the word alone (the
    planner then refuses it as unknown).
    """
    if not english:
        return text, []
    fixes: list[tuple[str, str]] = []
    words = list(re.finditer(r"(?<!')\b[a-z]+\b(?!')", text))
    out, pos = [], 0
    for n, m in enumerate(words):
        word = m.group(0)
        read = _RUN_TOGETHER.get(word, word)
        if read == word and len(word) >= 3 and word not in known and word not in english:
            next_is_verb = n + 1 < len(words) and words[n + 1].group(0) in _VERBS
            limit = 1 if len(word) < 7 else 2
            scored = sorted(
                (d, k not in _CORE, abs(len(k) - len(word)), -_affix(word, k), k)
                for k in known
                if len(k) >= 3 and abs(len(k) - len(word)) <= limit and not (next_is_verb and k in _VERBS)
                for d in (edit_distance(word, k, limit),)
                if d <= limit
            )
            if scored and (len(scored) == 1 or scored[0][:4] != scored[1][:4]):
                read = scored[0][4]
        if read != word:
            fixes.append((word, read))
            out.append(text[pos : m.start()] + read)
            pos = m.end()
    return "".join(out) + text[pos:], fixes


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text)


def _last_clause_start(text: str) -> int:
    """Index in ``text`` where its last clause begins (after the last sequence word or comma
    that is followed by a verb)."""
    start = 0
    for m in re.finditer(r"(?:,|\b(?:then|and|after that|next)\b)\s*", text):
        rest = _words(text[m.end() :])
        if rest and rest[0] in _VERBS:
            start = m.end()
    return start


def _place_start(clause: str) -> int | None:
    """Index in ``clause`` of its place phrase: the first relation word after the first
    object word ("put the red cube | on the blue one"), or None when it has none."""
    seen_object = False
    for m in re.finditer(r"[a-z']+", clause):
        w = m.group(0)
        if w in _OBJECT_WORDS:
            seen_object = True
        elif seen_object and w in _RELATION_START:
            return m.start()
    return None


def _last_object_start(text: str) -> int | None:
    """Index in ``text`` of the last object phrase: its last determiner, else its last colour."""
    starts = [m.start() for m in re.finditer(r"\b(?:the|a|an|that|this)\b", text)]
    if not starts:
        starts = [m.start() for m in re.finditer(r"[a-z]+", text) if m.group(0) in lx.COLOURS]
    return starts[-1] if starts else None


def _verb_end(clause: str) -> int | None:
    """Index just after the clause's first verb (and a particle such as "up"), or None."""
    for m in re.finditer(r"[a-z']+", clause):
        if m.group(0) in _VERBS:
            after = re.match(r"\s+(?:up|down|over)\b", clause[m.end() :])
            return m.end() + (after.end() if after else 0)
    return None


def _apply_repair(before: str, fix: str) -> str | None:
    """``before`` with ``fix`` put in place of the phrase it repairs, or None when ``fix`` is
    no repair (it starts a new clause, or there is nothing of its kind to replace)."""
    words = _words(fix)
    if not words or (words[0] in _SEQUENCE_WORDS and words[:2] != ["next", "to"]):
        return None
    cut = _last_clause_start(before)
    head, clause = before[:cut], before[cut:]
    if words[0] in _VERBS:
        return f"{before}, {REPAIR} {fix}"
    if words[0] in _RELATION_START:
        at = _place_start(clause)
        if at is None:
            return None
        # "left of the blue cube, er, right of it": "it" is the object of the place replaced.
        named = _last_object_start(clause[at:])
        if named is not None and re.search(r"\bit\b", fix):
            fix = re.sub(r"\bit\b", clause[at + named :].strip(), fix, count=1)
        return f"{head}{clause[:at]}{fix}"
    if _place_start(fix) is not None:  # "green on yellow": object and place again
        at = _verb_end(clause)
        return None if at is None else f"{head}{clause[:at]} {fix}"
    if not _ends_with_object(clause):
        return None  # "put the red cube on, uh, the blue one": a pause, not a repair
    at = _last_object_start(clause)
    return None if at is None else f"{head}{clause[:at]}{fix}"


def _ends_with_object(text: str) -> bool:
    """True when ``text`` ends with an object phrase ("... on the blue one")."""
    words = _words(text)
    return bool(words) and words[-1] in _OBJECT_WORDS


def repair(text: str) -> str:
    """Apply every self-repair in ``text``, left to right (see the module docstring)."""
    for _ in range(8):  # each pass applies one marker; a sentence has a handful at most
        m = _MARKER_RUN.search(text)
        while m is not None and m.start() == 0:
            text = text[m.end() :]  # "actually, put ...": a marker with nothing before it
            m = _MARKER_RUN.search(text)
        if m is None:
            return text
        before, after = text[: m.start()].rstrip(" ,"), text[m.end() :]
        fix, _, rest = after.partition(",")
        fix = _TRAILING_MARKER.sub("", fix.strip())  # "..., to the left i mean"
        repaired = _apply_repair(before, fix)
        if repaired is None:
            # Not a repair after all ("..., wait, then push ..."): drop the marker, keep the rest.
            text = f"{before}, {after}" if after else before
            continue
        rest = rest.strip()
        joiner = " " if rest and _words(rest)[0] in _RELATION_START else ", "
        text = f"{repaired}{joiner}{rest}" if rest else repaired
    return text


def drop_exclusions(text: str) -> str:
    """Remove what the speaker said *not* to use: ", not the red one," asides, a leading
    "not the red one, ...", and "not X but Y" (keeps Y)."""
    text = _EXCLUDED_LEAD.sub("", text)
    text = _EXCLUDED_ASIDE.sub(" ", text)
    return " ".join(_NOT_BUT.sub("", text).split())


_TOPIC = re.compile(r"^(?P<topic>(?:the|that|this) [^,]+),\s*(?P<rest>.+)$")


def resolve_topic(text: str) -> str:
    """ "the yellow block, could you push it to the left": the object named first, then a
    command about "it", read as the command about that object."""
    m = _TOPIC.match(text)
    if m is None:
        return text
    topic, rest = m.group("topic"), m.group("rest")
    topic_words = _words(topic)
    if not any(w in _OBJECT_WORDS for w in topic_words) or any(
        w in _RELATION_START or w in _VERBS for w in topic_words
    ):
        return text
    it = re.search(r"\bit\b", rest)
    if it is None or not any(w in _VERBS for w in _words(rest[: it.start()])):
        return text
    return f"{rest[: it.start()]}{topic}{rest[it.end() :]}"


def drop_hesitation(text: str) -> str:
    """Remove hesitations and discourse words at the start ("um,", "ok so,", "right, now")."""
    m = _HESITATION.match(text)
    if m is None or m.end() == len(text):
        return text
    rest = text[m.end() :]
    # "right" and "like" are also words of a command ("right of the red cube", "like this"):
    # only dropped when a comma or another hesitation came with them.
    if "," not in text[: m.end()] and _words(text[: m.end()])[-1] in ("right", "like", "now", "so", "well"):
        return text
    return rest


def expand_shorthand(text: str) -> str:
    """Texting shorthand as words ("can u put ... pls")."""
    return re.sub(r"(?<![\w'])(?:w/|[a-z]+|[&+])(?![\w'])", lambda m: _SHORTHAND.get(m.group(0), m.group(0)), text)


def drop_closing(text: str) -> str:
    """Closing remarks after a placement removed ("and leave it there"), when something came before."""
    m = _CLOSING.search(text)
    return text if m is None or m.start() == 0 else f"{text[: m.start()]}{text[m.end() :]}".strip(" ,")


def clean(text: str, known: frozenset[str], english: frozenset[str]) -> str:
    """Shorthand, typos, exclusions, hesitations, closing remarks and self-repairs undone, in
    that order."""
    text = correct_typos(expand_shorthand(text), known, english)[0]
    return resolve_topic(repair(drop_closing(drop_hesitation(drop_exclusions(text)))))

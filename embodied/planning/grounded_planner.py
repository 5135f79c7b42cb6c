"""The default planner: a compositional reading of the instruction, grounded in the scene.

The instruction is split into clauses at sequence words ("then", "after that", ";",
"first ... finally", "before that"); phrases for relations and regions are normalised
("on top of", "to the left of", "on the far side of the table"); each clause is read as
verb + objects + relations. Object phrases are grounded in the *perceived* scene by colour
(with a lexicon of colour words) and shape; verbs and nouns the lexicon does not know are
grounded by a frozen sentence encoder (:class:`embodied.planning.sentence_encoder.SentenceEncoder`). When
anything cannot be grounded or is ambiguous, the planner refuses with the reason instead
of guessing. The result is validated like any other plan.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from embodied.perception.scene import Scene
from embodied.planning import lexicon as lx
from embodied.planning import spoken
from embodied.planning.planner import PlanResult
from embodied.planning.sentence_encoder import BACKENDS, DEFAULT_ENCODER, SentenceEncoder, resolve_encoder_path
from embodied.planning.subgoals import Plan, PlanError, SubGoal, Target, validate_plan
from embodied.planning.suggestions import Suggestion, nearest, render

_REGION = r"(far|near|back|front|rear|left|right|center|centre|middle)"
_SIDE = r"(?:side|edge|end|part|area|region|half|corner|portion|section|zone|third)"

# (pattern, replacement) applied in order to the lower-cased clause; uppercase words are
# relation tokens the clause reader understands.
_REWRITES: list[tuple[str, str]] = [
    (r"\b(?:don't|dont|do not|never|doesn't|shouldn't)\b", " NEGATION "),
    (
        r"\b\d+(?:\.\d+)? ?(?:cm|centimet(?:er|re)s?|mm|millimet(?:er|re)s?|m|met(?:er|re)s?|inch(?:es)?|in)\b",
        " DISTANCE ",
    ),
    (r"\bso (?:that )?(?:it|they) ?(?:is|are|'s|'re|sits|rests|ends up|lands)\b", " "),
    (r"\bfrom (?:the )?top to (?:the )?bottom\b|\btop[- ]down\b", " TOP_DOWN "),
    (r"\bfrom (?:the )?bottom to (?:the )?top\b|\bbottom[- ]up\b", " "),
    (r"\bover (to|into|toward|towards|on|in|at|by|onto)\b", r" \1 "),
    (r"\b(?:on top of|on to|onto|upon|atop|over|above) (?:each other|one another)\b", " EACH_OTHER "),
    (r"\b(?:on|of) (?:each other|one another)\b", " EACH_OTHER "),
    # "put it to its left": left of the thing just named (a pronoun target), not the table's left.
    (r"\b(?:to|on|at) its (left|right)(?:[- ]hand)?(?: side)?\b", r" \1_OF it "),
    # The robot's own frame (docs/conventions.md): "your left" is the robot's left, +y.
    (
        r"\b(?:(?:to|on|at|towards?|over to|into|onto) )?(?:your|the robot's|the robots|robot's|its) "
        rf"(left|right)(?:[- ]hand)?(?: {_SIDE})?\b",
        r" REGION_\1 ",
    ),
    (r"\b(?:to|on|at) the ([a-z ]+?) ?'s (left|right)(?:[- ]hand)?(?: side)?\b", r" \2_OF the \1 "),
    (r"\b(?:to|on|onto|at|up to) the (?:very )?top of\b", " ON "),
    # "right next to", "right on top of": an intensifier, not a direction.
    (r"\bright (?=next to|beside|alongside|by|against|on top|onto|on\b|upon|atop|over)", " "),
    (r"\b(?:further|farther|far) (?:away )?from (?:you|the robot|yourself|the base|me)\b", " REGION_far "),
    (
        r"\b(?:to|on|at|towards?) the (left|right)(?:[- ]hand)?(?: side)? of\b(?! the (?:table|workspace|desk))",
        r" \1_OF ",
    ),
    (r"\b(left|right) of\b(?! the (?:table|workspace|desk))", r" \1_OF "),
    (
        r"\b(?:(?:a (?:bit|little) )?(?:near|nearer|close|closer)(?: to)?|next to|by|toward|towards) "
        r"(?:you|the robot|yourself|the base|me|us)\b",
        " REGION_near ",
    ),
    (r"\b(?:next to|beside|besides|alongside|adjacent to|close to|near to|nearby|against)\b", " NEXT_TO "),
    (r"\bby the side of\b|\bto the side of\b|\bat the side of\b", " NEXT_TO "),
    (r"\b(?:near|close to|by) (?:the )?(?:robot|base|you|me)\b", " REGION_near "),
    (r"\b(?:near|by)\b(?= (?:the |that |this )?(?:[a-z]+ )?(?:cube|block|box|brick|one|it)\b)", " NEXT_TO "),
    (r"\bin front of\b", " UNSUPPORTED_in_front_of "),
    (r"\b(behind|between|under|underneath|beneath|below|inside|around)\b", r" UNSUPPORTED_\1 "),
    (r"\b(?:(?:back|down) )?(?:on|onto|to|upon) the (?:table|desk|surface)(?: top)?\b(?! (?:side|edge))", " TABLE "),
    (r"\b(?:closer to|toward|towards|nearer to|near to) (?:you|the robot|yourself|the base|me)\b", " REGION_near "),
    (r"\b(?:(?:further|farther) )?away from (?:you|the robot|yourself|the base|me)\b", " REGION_far "),
    (r"\baway from\b", " UNSUPPORTED_away_from "),
    (r"\b(?:on top of|on to|onto|upon|atop|over|above)\b", " ON "),
    (r"\b(?:at|on|to) the (?:very )?top\b|\bon top\b|\bat top\b|\bas the top\b", " TOP "),
    (r"\b(?:at|on|as) the (?:very )?(?:bottom|base)\b|\bat (?:the )?bottom\b|\bas (?:the )?base\b", " BOTTOM "),
    (
        rf"\b(?:(?:to|into|in|at|toward|towards|on|over to|over) )?the {_REGION}(?:most)?(?:[- ]hand)?"
        rf"(?:[- ]{_REGION})?(?: {_SIDE})?(?: of the (?:table|workspace|desk|table top))?\b",
        r" REGION_\1 ",
    ),
    (rf"\b(?:to|toward|towards|into) {_REGION}\b", r" REGION_\1 "),
    (r"\b(left|right)wards?\b", r" REGION_\1 "),
    (r"\b(left|right)\b(?=\s*(?:,|$|and\b))", r" REGION_\1 "),  # "slide the cube left"
    (r"\bforwards?\b", " REGION_far "),
    (r"\bbackwards?\b", " REGION_near "),
    (r"\bon\b", " ON "),
]
_REWRITES_COMPILED = [(re.compile(p), r) for p, r in _REWRITES]
_REGION_CANON = {"back": "far", "rear": "far", "front": "near", "centre": "center", "middle": "center"}

_SEQUENCE = re.compile(
    r"\s*(?:[;.!?]+|,?\s*\b(?:and\s+)?(?:then|after that|after this|afterwards|afterward|after which|"
    r"subsequently|finally|lastly|followed by|once (?:that|this|it) is done|once done|when (?:that's|that is|"
    r"you're|you are) done)\b,?|,?\s*\bnext\b(?! to),?|,?\s*\b(?:secondly|thirdly|second|third)\b,?)\s*"
)
_BEFORE = re.compile(r",?\s*\b(?:but )?(?:before (?:that|this|doing (?:that|this))|but first)\b,?\s*")
_VERB_SPLIT_WORDS = lx.ACTION_VERBS


_ADVERBS = frozenset("just now please simply instead rather also quickly carefully gently slowly".split())
"""Words that may stand between a comma and the verb of a new clause."""

_NEGATED = re.compile(r"^(?:please |but )?(?:don't|dont|do not|never)\s+")
"""A clause that says what not to do."""


class _Unsuggestable(PlanError):
    """A refusal no other command can fix (a question, a negation, no words): no "did you mean"."""


_NORMALISE = [
    (re.compile(p), r)
    for p, r in [
        (r"\b([a-z]+)[- ]colou?red\b", r"\1"),  # "cherry-colored" -> "cherry"
        (r"\b([a-z]+)[- ](?:ish|y)\b(?=[- ])", r"\1"),  # "red-ish block" -> "red block"
        (r"(?<=[a-z])-(?=[a-z])", " "),  # "sky-blue", "right-hand", "blood-red"
        # Politeness that wraps a command: "for me", "if you can", "be so kind as to", "make sure".
        (
            r"\b(?:for (?:me|us)|if you (?:can|could|would|don't mind|do not mind)|if possible|when you can|"
            r"when you get a chance|(?:be )?so kind as to|(?:be )?kind enough to|do me a favou?r and|"
            r"make sure(?: that)?|see to it that|ensure(?: that)?|"
            r"it(?:'d| would)? be (?:great|nice|good|perfect|ideal|lovely|helpful) if|"
            r"(?:i|we)(?:'d| would) (?:love|like|appreciate) it if(?: you (?:could|would|can))?|"
            r"(?:would|will|is|could) it be possible(?: for you)? to|is it possible(?: for you)? to|"
            r"(?:are|would) you (?:be )?able to|do you mind|would you mind|"
            r"(?:please )?(?:try|attempt|remember|be sure|manage) (?:to|and)|go ahead and|go and)\b",
            " ",
        ),
        # Talk about what one wants to see: "i wanna see the red cube on the blue one".
        (r"\bwanna\b", "want to"),
        (r"\b(?:gonna|going to|gotta|got to) need\b", "need"),
        # "that one", "the same one": the object last moved (a pronoun, like "it").
        (r"\b(?:that|the same|that same) (?:one|cube|block|box)\b", "it"),
        # "what I need is ...": a wish in the form of a question word.
        (r"^what (?:i|we) (?:really )?(?:need|want|would like|'d like|d like|would love) (?:is|are)\b", " "),
        (r"\b(?:a (?:little )?bit|a little|a tad|a touch|slightly|somewhat|a few centimet(?:er|re)s)\b", " "),
        # "make it so that the red cube is on ...": an outcome to reach, said as one.
        (r"\b(?:make|have|get) it so(?: that)?\b", " "),
        # "... and the green one on top of that": "that" without a noun is the object just named.
        (
            r"\b(on top of|onto|on|next to|beside|left of|right of) (?:that|this)\b"
            r"(?! (?:[a-z]+ )?(?:cube|cubes|block|blocks|box|boxes|brick|bricks|one|ones)\b)",
            r"\1 it",
        ),
    ]
]
"""Rewrites of the whole text before clauses are split: compound colour words lose their
hyphen and "-colored" (the last colour word of a phrase is its head: "bluish green" is green),
and degree words ("a bit closer") are dropped: the skills move to a region, not by an amount."""

_CONDITION = r"(?:once|when|whenever|after|as soon as)\s+(?!(?:that|this|it|which)\b|done\b|you(?:'re| are) done\b)"
_CONDITION_FIRST = re.compile(rf"^(?:and )?{_CONDITION}(?P<cond>.+?),\s*(?:then\s+)?(?P<main>.+)$")
_CONDITION_LAST = re.compile(rf"^(?P<main>.+?),?\s+{_CONDITION}(?P<cond>.+)$")
_BEFORE_FIRST = re.compile(r"^before\s+(?!(?:that|this|doing)\b)(?P<later>.+?),\s*(?P<main>.+)$")
_BEFORE_LAST = re.compile(r"^(?P<main>.+?),?\s+before\s+(?!(?:that|this|doing)\b)(?P<later>.+)$")


def _condition_first(text: str) -> list[str] | None:
    """A temporal or conditional sentence as its clauses in the order they must happen, or None.

    "once/when/after/as soon as A, B" and "B once/after A" -> [A, B]; "before A, B" and
    "B before A" -> [B, A]. A condition states an outcome ("the red cube is on the blue
    one"), which the clause reader takes as a goal to reach first.
    """
    for pattern, first, then in (
        (_CONDITION_FIRST, "cond", "main"),
        (_BEFORE_FIRST, "main", "later"),
        (_CONDITION_LAST, "cond", "main"),
        (_BEFORE_LAST, "main", "later"),
    ):
        m = pattern.match(text)
        if m:
            return [m.group(first), m.group(then)]
    return None


_STACK_TOP = "stack_top"
"""Token for the object an elliptic "on top" means (:attr:`_Context.top`)."""


def _refines(goal: SubGoal, approach: SubGoal) -> bool:
    """``goal`` says where exactly ``approach`` (a bare "to") was taking the same object."""
    return goal.object == approach.object and goal.target.value == approach.target.value


def _is_conditional_command(text: str) -> bool:
    """ "when the red cube is on the blue one, put the green one on it": a command with a
    condition in front, not a question, though it starts with a question word."""
    parts = _condition_first(text)
    if parts is None or text.rstrip().endswith("?"):
        return False
    words = re.findall(r"[a-z']+", parts[1])
    while words and words[0] in lx.FILLERS:
        words = words[1:]
    return bool(words) and _lemma(words[0]) in _VERB_SPLIT_WORDS


def _lemma(word: str) -> str:
    """Base form of a verb the lexicon knows ("placing" -> "place", "pushes" -> "push"), else the word."""
    if word in _VERB_SPLIT_WORDS:
        return word
    for cut, add in (("ing", ""), ("ing", "e"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("d", "")):
        if word.endswith(cut):
            stem = word[: -len(cut)] + add
            for cand in (stem, stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem):
                if cand in _VERB_SPLIT_WORDS:
                    return cand
    return word


@dataclass
class _Mention:
    """An object phrase: colour(s), noun, and flags, before grounding."""

    words: list[str] = field(default_factory=list)
    colour: str | None = None
    noun: str | None = None
    other_thing: str | None = None
    pronoun: str | None = None
    all: bool = False
    other: bool = False
    unknown: str | None = None
    slot: str | None = None

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def empty(self) -> bool:
        return not (self.colour or self.noun or self.other_thing or self.pronoun or self.all or self.unknown)


@dataclass
class _Context:
    """What the clauses so far established (for "it", "the other one", continuations)."""

    scene: Scene
    last: list[str] = field(default_factory=list)
    mentioned: list[str] = field(default_factory=list)
    verb: str | None = None
    held: list[str] = field(default_factory=list)
    tower: list[_Mention] | None = None
    tower_reverse: bool = False
    # What "on top" with no object means: the top of the stack at the destination the last
    # clause named ("carry the red cube to the yellow one and put it on top": the yellow one;
    # "put red on blue, then green on top": red). None after a region or a side relation.
    top: str | None = None
    # A goal made of a bare "to" ("carry the red cube over to the yellow one"): only an
    # approach, which a next clause about the same two objects replaces ("... and put it on top").
    approach: SubGoal | None = None


class GroundedPlanner:
    """Default planner: compositional parsing + frozen MiniLM grounding; offline, CPU, ~ms per instruction.

    Args:
        encoder: :data:`embodied.planning.sentence_encoder.DEFAULT_ENCODER`, a local folder or a hub id.
        threshold: cosine similarity at which an unknown word takes its nearest prototype's class.
        name: planner name reported in results.
        suggest_threshold: cosine similarity for proposing the nearest valid command (None: off).
        encoder_backend: ``onnx`` (the encoder's cached ONNX export) or ``torch`` (transformers).
    """

    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        threshold: float = 0.8,
        name: str = "grounded",
        suggest_threshold: float | None = 0.6,
        encoder_backend: str = "onnx",
    ) -> None:
        self.name = name
        self._encoder_name, self._threshold, self._backend = encoder, threshold, encoder_backend
        self._encoder: SentenceEncoder | None = None
        self.suggest_threshold = suggest_threshold
        # A missing model fails here, before any motion, not mid-plan. Its vocabulary tells a
        # typo from a real word the planner does not know (embodied.planning.spoken).
        self._english = spoken.english_words(resolve_encoder_path(encoder))
        self._known = spoken.planner_words()
        if encoder_backend not in BACKENDS:
            raise PlanError(f"planner.encoder_backend must be one of {', '.join(BACKENDS)}, got {encoder_backend!r}")

    @property
    def encoder(self) -> SentenceEncoder:
        """The frozen sentence encoder, loaded on first use: most instructions use only the
        lexicon; the ONNX backend loads in ~0.5 s, torch + transformers in ~4.5 s."""
        if self._encoder is None:
            self._encoder = SentenceEncoder(self._encoder_name, self._threshold, self._backend)
        return self._encoder

    # -- public ------------------------------------------------------------------------
    def plan(
        self, instruction: str, scene: Scene, image: np.ndarray | None = None, previous: list[str] | None = None
    ) -> PlanResult:
        """Plan ``instruction`` in ``scene`` (``image`` is unused: perception already read it).

        ``previous``: the objects the conversation's last command moved, what "it", "that one"
        and "the same one" mean before this instruction names anything (interactive prompt).
        """
        start = time.perf_counter()
        read_as: list[str] = []
        try:
            plan = validate_plan(Plan(subgoals=self._read(instruction, scene, previous, read_as)), scene)
            result = PlanResult(instruction, plan, None)
        except PlanError as exc:
            result = PlanResult(instruction, None, str(exc))
            suggestion = None if isinstance(exc, _Unsuggestable) else self.suggest(instruction, scene)
            if suggestion is not None:
                result.error = f"{result.error}. Did you mean: {suggestion.sentence}?"
                result.details["suggestion"] = {
                    "sentence": suggestion.sentence,
                    "plan": [suggestion.subgoal.to_json()],
                    "similarity": round(suggestion.similarity, 3),
                }
        if read_as:
            result.details["read_as"] = read_as[0]
        result.seconds = time.perf_counter() - start
        return result

    def suggest(self, instruction: str, scene: Scene) -> Suggestion | None:
        """The nearest valid command (:mod:`embodied.planning.suggestions`), or None when
        suggestions are off or nothing is close enough."""
        if self.suggest_threshold is None:
            return None
        return nearest(instruction, scene, self.encoder, self.suggest_threshold)

    # -- clauses -----------------------------------------------------------------------
    def _read(
        self, instruction: str, scene: Scene, previous: list[str] | None = None, read_as: list[str] | None = None
    ) -> list[SubGoal]:
        """The sub-goals of ``instruction``; ``read_as`` receives the text as read when typos or
        self-repairs changed it (:mod:`embodied.planning.spoken`)."""
        if not isinstance(instruction, str):
            raise _Unsuggestable(f"the instruction must be text, got {type(instruction).__name__}")
        text = " ".join(instruction.lower().replace("’", "'").replace("\u2019", "'").split())
        text = re.sub(r"[\"`()\[\]{}]", " ", text).replace(":", ",").strip(" .")
        for pattern, repl in _NORMALISE:
            text = pattern.sub(repl, text)
        text = " ".join(text.split())
        heard = text
        text = spoken.clean(text, self._known, self._english)
        text = " ".join(text.split()).strip(" ,")
        if read_as is not None and text != heard:
            read_as.append(text.replace(spoken.REPAIR, "no:"))
        if not text:
            raise _Unsuggestable("the instruction is empty; say what to do, e.g. 'put the red cube on the blue cube'")
        if not re.search(r"[a-z]", text):
            raise _Unsuggestable(f"I could not read {instruction!r}: it has no words")
        if not scene.objects:
            raise _Unsuggestable("the camera sees no objects, so there is nothing to plan with")
        if any(p.match(text) for p in (lx.AGAIN, lx.SAME, lx.UNDO)):
            raise _Unsuggestable(
                f"{instruction!r} refers to an earlier command; that works in the interactive prompt "
                "('embodied run' without an instruction), which remembers what was done"
            )
        first = re.findall(r"[a-z']+", text)[0]
        if first in lx.QUESTION_WORDS and not _is_conditional_command(text) and not _NEGATED.match(text):
            raise _Unsuggestable(
                f"{instruction!r} looks like a question; I follow commands such as 'put the red cube on the blue cube'"
            )
        clauses = [
            (clause, k > 0 and j == 0)
            for k, segment in enumerate(text.split(spoken.REPAIR))
            for j, clause in enumerate(self._clauses(segment.strip(" ,")))
        ]
        ctx = _Context(scene, last=[n for n in previous or [] if n in scene.names])
        goals: list[SubGoal] = []
        forbidden: list[tuple[str | None, str, Target | None]] = []
        clause_start = 0
        for n, (clause, repairs) in enumerate(clauses):
            approach, ctx.approach = ctx.approach, None
            if n == 0 and len(clauses) > 1 and _NEGATED.match(clause):
                # "don't push the blue cube, pick it up and ...": what not to do, then what to
                # do instead; the negated clause only says what "it" is.
                forbidden = self._negated(_NEGATED.sub("", clause, count=1), ctx)
                continue
            if repairs:  # "..., actually put it on the blue one": replaces the clause before
                del goals[clause_start:]
            clause_start = len(goals)
            new = self._clause(clause, ctx)
            if approach is not None and goals and goals[-1] is approach and new and _refines(new[0], approach):
                goals.pop()
                clause_start = len(goals)
            goals.extend(new)
        goals.extend(self._finish_tower(ctx))
        for goal in goals:
            if any(self._forbids(f, goal) for f in forbidden):
                raise _Unsuggestable(
                    f"{instruction!r} asks for the very move it says not to make ({render(goal)}); say which you want"
                )
        if ctx.held:
            raise PlanError(
                f"I can pick up {self._names(ctx.held)} only to put it somewhere: say where "
                "(e.g. 'pick up the red cube and put it on the blue cube')"
            )
        if not goals:
            raise PlanError(f"I could not find anything to do in {instruction!r}")
        return goals

    def _negated(self, clause: str, ctx: _Context) -> list[tuple[str | None, str, Target | None]]:
        """What a negated first clause would have asked for, as (skill, object, target) with
        None for what it left open (to check nothing planned does it), leaving in ``ctx`` only
        its object, as what "it" means next."""
        try:
            goals = self._clause(clause, ctx)
        except PlanError:
            goals = []
        ctx.verb, ctx.top, ctx.approach, ctx.tower, ctx.held = None, None, None, None, []
        if goals:
            ctx.last = [goals[0].object]
            return [(g.skill, g.object, g.target) for g in goals]
        # "don't push the blue cube": no place, so any push of the blue cube is what not to do.
        toks = self._tokens(clause)
        i = next((k for k, t in enumerate(toks) if t not in lx.FILLERS), len(toks))
        verb = _lemma(toks[i]) if i < len(toks) else ""
        # "move" and "touch" say nothing of how: they forbid every skill on the object.
        placing = (lx.PLACE_VERBS | lx.GRASP_VERBS) - {"move", "shift", "relocate", "reposition", "transfer"}
        skill = "push" if verb in lx.PUSH_VERBS else "pick_place" if verb in placing else None
        start = i if i == len(toks) or self._starts_object_or_outcome(toks[i:]) else i + 1  # past the verb
        for m in self._mentions([t for t in toks[start:] if not t.isupper()])[:1]:
            try:
                ctx.last = self._resolve(m, ctx)
            except PlanError:
                return []
            return [(skill, ctx.last[0], None)]
        return []

    @staticmethod
    def _forbids(forbidden: tuple[str | None, str, Target | None], goal: SubGoal) -> bool:
        skill, obj, target = forbidden
        return goal.object == obj and skill in (None, goal.skill) and target in (None, goal.target)

    def _clauses(self, text: str) -> list[str]:
        """Split at sequence words; a clause after "before that" moves in front of its predecessor;
        a condition ("once the red cube is on the blue one, ...") comes before what depends on it."""
        conditional = _condition_first(text)
        if conditional is not None:
            return [c for part in conditional for c in self._clauses(part)]
        parts: list[tuple[str, bool]] = []
        for chunk_i, chunk in enumerate(_BEFORE.split(text)):
            for j, piece in enumerate(_SEQUENCE.split(chunk)):
                for k, sub in enumerate(self._split_on_verbs(piece)):
                    if sub.strip(" ,"):
                        parts.append((sub.strip(" ,"), chunk_i > 0 and j == 0 and k == 0))
        ordered: list[str] = []
        for clause, before in parts:
            if before and ordered:
                ordered.insert(len(ordered) - 1, clause)
            else:
                ordered.append(clause)
        return ordered

    @staticmethod
    def _split_on_verbs(piece: str) -> list[str]:
        """Split "pick up X and put it on Y" at an "and" or comma followed by a verb."""
        words = piece.split()
        out, current = [], []
        for i, w in enumerate(words):
            bare = w.strip(",")
            # The next word past adverbs: "don't stack it, just push ..." splits before "just".
            k = i + 1
            while k < len(words) - 1 and words[k].strip(",") in _ADVERBS:
                k += 1
            nxt = words[k].strip(",") if k < len(words) else ""
            if bare == "and" and _lemma(nxt) in _VERB_SPLIT_WORDS and current:
                out.append(" ".join(current))
                current = []
                continue
            current.append(w)
            if w.endswith(",") and _lemma(nxt) in _VERB_SPLIT_WORDS:
                out.append(" ".join(current))
                current = []
        if current:
            out.append(" ".join(current))
        return out

    # -- one clause --------------------------------------------------------------------
    def _tokens(self, clause: str) -> list[str]:
        text = f" {clause} "
        for pattern, repl in _REWRITES_COMPILED:
            text = f" {' '.join(pattern.sub(repl, text).split())} "
        # Relation tokens are upper case ("REGION_LEFT", "LEFT_OF"); words stay lower case.
        return [t.upper() if any(c.isupper() for c in t) else t for t in re.findall(r"[A-Z_a-z]+(?:'[a-z]+)?|,", text)]

    def _clause(self, clause: str, ctx: _Context) -> list[SubGoal]:
        toks = self._tokens(clause)
        if "DISTANCE" in toks:
            raise PlanError(
                f"I cannot move things by a distance ({clause!r}); name a region of the table or another object"
            )
        if "NEGATION" in toks:
            raise _Unsuggestable(f"I cannot follow negative instructions ({clause!r}); say what to do instead")
        i = 0
        while i < len(toks) and (toks[i] in lx.FILLERS or toks[i] in ("'d", "'s", "let", ",")):
            i += 1
        if i == len(toks):
            return []
        outcome = self._outcome(toks[i:])
        if outcome is not None:  # the verb, if any, is a participle inside ("moved", "pushed")
            verb, toks, i = outcome[0], outcome[1], 0
        else:
            verb, i = self._verb(toks, i, clause)
        if verb is None:
            if ctx.tower is not None:
                ctx.tower.extend(self._tower_mentions(toks[i:], ctx))
                return []
            verb = ctx.verb
            if verb is None and (self._has_target(toks[i:]) or "ON" in toks[i:]):
                verb = "place"  # "green on yellow, please": an elliptic "put"
            if verb is None or verb == "grasp":
                raise PlanError(f"I could not find an action in {clause!r}; start with a verb such as put or push")
        else:
            goals = self._finish_tower(ctx)
            if goals:
                # A new verb ends a tower that was being described.
                return goals + self._clause(clause, ctx)
        ctx.verb = verb
        rest = toks[i:]
        if verb in ("place", "stack") and ctx.top and "TOP" in rest and "ON" not in rest and not self._has_target(rest):
            k = rest.index("TOP")  # "... and put it on top": on top of what the last clause named
            rest = [*rest[:k], "ON", _STACK_TOP, *rest[k + 1 :]]
        if verb == "tower" or (verb == "stack" and "ON" not in rest and not self._has_target(rest)):
            ctx.tower = self._tower_mentions(rest, ctx)
            return []
        if "EACH_OTHER" in rest:
            ctx.tower = self._tower_mentions([t for t in rest if t != "EACH_OTHER"], ctx)
            return []
        return self._relations(rest, verb, clause, ctx)

    def _verb(self, toks: list[str], i: int, clause: str) -> tuple[str | None, int]:
        """(verb class or None for a verbless fragment, index after the verb and its particles)."""
        w = _lemma(toks[i])
        if w.isupper() or w in lx.COLOURS or w in lx.DETERMINERS or w in lx.ALL_WORDS or w in lx.PRONOUNS:
            return None, i
        if w in lx.CUBE_NOUNS or w in lx.GENERIC_NOUNS or w in lx.NON_COLOUR_MODIFIERS:
            return None, i
        if w in lx.TOWER_VERBS:
            if any(t in lx.TOWER_NOUNS for t in toks[i + 1 :]):
                return "tower", self._skip_particles(toks, i + 1)
            raise PlanError(f"I cannot '{w}' that: {self._catalogue_hint()}")
        if w in ("stack", "pile"):
            return "stack", self._skip_particles(toks, i + 1)
        if w in lx.PLACE_VERBS:
            return "place", self._skip_particles(toks, i + 1)
        if w in lx.GRASP_VERBS:
            return "grasp", self._skip_particles(toks, i + 1)
        if w in lx.PUSH_VERBS:
            return "push", self._skip_particles(toks, i + 1)
        if w in lx.UNSUPPORTED_VERBS:
            raise PlanError(f"I cannot {w} things: {self._catalogue_hint()}")
        g = self.encoder.ground_verb(w)
        if g.label == "unsupported":
            raise PlanError(f"I cannot {w} things (it means something like '{g.prototype}'): {self._catalogue_hint()}")
        if g.label is None:
            raise PlanError(f"I do not understand {w!r} in {clause!r}; {self._catalogue_hint()}")
        return g.label, self._skip_particles(toks, i + 1)

    def _outcome(self, toks: list[str]) -> tuple[str | None, list[str]] | None:
        """Read a clause that states an outcome instead of a command, or None when it is a command.

        "I want the red cube on the blue one", "the red block should end up to the left",
        "have the green one moved to the far side", "the yellow cube goes on top of the red
        one": the clause does not start with an action verb (or starts with a causative),
        and holds a relation. The outcome's words (``lexicon.OUTCOME_WORDS``) are dropped; a
        participle of a skill verb ("moved", "pushed") chooses the skill; a participle of an
        action outside the skills ("thrown", "painted") is refused as that action.

        Returns:
            (the verb class a participle named or None, the remaining tokens), or None.
        """
        if not toks:
            return None
        first = _lemma(toks[0])
        known_verb = first in _VERB_SPLIT_WORDS or first in lx.TOWER_VERBS
        if known_verb and first not in lx.CAUSATIVES:
            return None
        if first in lx.CAUSATIVES and not any(self._participle(t) for t in toks[1:]):
            return None  # "make a tower", "get the red cube and ...": a command after all
        if not any(t.isupper() and not t.startswith(("NEGATION", "DISTANCE", "TOP", "BOTTOM")) for t in toks):
            return None  # no relation: not an outcome ("the red one" after a verb in an earlier clause)
        if not known_verb and not self._starts_object_or_outcome(toks):
            return None
        verb: str | None = None
        kept: list[str] = []
        for j, w in enumerate(toks):
            nxt = toks[j + 1] if j + 1 < len(toks) else ""
            if w in lx.OUTCOME_WORDS or (w == "to" and (nxt in lx.OUTCOME_WORDS or self._participle(nxt))):
                continue
            if j == 0 and first in lx.CAUSATIVES:
                continue
            if not w.isupper() and w not in lx.COLOURS and w not in lx.CUBE_NOUNS:
                cls = self._participle(w)
                if cls == "unsupported":
                    action = lx.IRREGULAR_PARTICIPLES.get(w, _lemma(w))
                    raise PlanError(f"I cannot {action} things: {self._catalogue_hint()}")
                if cls is not None:
                    verb = "push" if cls == "push" else (verb or "place")
                    continue
            kept.append(w)
        return verb, kept

    @staticmethod
    def _participle(word: str) -> str | None:
        """The class of a verb form inside an outcome ("moved" -> place, "slid" -> push,
        "painted" -> unsupported), or None when the word is no verb form the lexicon knows."""
        base = lx.IRREGULAR_PARTICIPLES.get(word) or _lemma(word)
        if base in lx.PUSH_VERBS:
            return "push"
        if base in lx.PLACE_VERBS or base in lx.GRASP_VERBS:
            return "place"
        if base in lx.UNSUPPORTED_VERBS:
            return "unsupported"
        return None

    @staticmethod
    def _starts_object_or_outcome(toks: list[str]) -> bool:
        w = toks[0]
        return (
            w in lx.DETERMINERS
            or w in lx.COLOURS
            or w in lx.PRONOUNS
            or w in lx.CUBE_NOUNS
            or w in lx.GENERIC_NOUNS
            or w in lx.OUTCOME_WORDS
            or w in lx.ALL_WORDS
            or w in lx.NON_COLOUR_MODIFIERS
        )

    @staticmethod
    def _skip_particles(toks: list[str], i: int) -> int:
        while i < len(toks) and toks[i] in ("up", "down", "back", "over", "away", "out", "it_up"):
            i += 1
        return i

    @staticmethod
    def _catalogue_hint() -> str:
        return (
            "my skills are pick_place (put an object on another, in a region of the table, or next to / left of / "
            "right of another) and push (slide an object to a region or next to another)"
        )

    @staticmethod
    def _has_target(toks: list[str]) -> bool:
        return any(t.startswith(("REGION_", "LEFT_OF", "RIGHT_OF", "NEXT_TO", "TABLE")) for t in toks)

    # -- mentions ----------------------------------------------------------------------
    def _mentions(self, toks: list[str]) -> list[_Mention]:
        """Object phrases in ``toks`` (no relation tokens), split at "and", "or" and commas."""
        out: list[_Mention] = []
        cur = _Mention()
        pending_slot: str | None = None
        for j, w in enumerate(toks):
            if w in ("and", "or", ",", "with", "then", "plus", "followed", "by", "from", "of", "out", "using"):
                if not cur.empty:
                    out.append(cur)
                cur = _Mention()
                continue
            if w in ("TOP", "BOTTOM", "REGION_CENTER", "REGION_MIDDLE"):
                slot = {"TOP": "top", "BOTTOM": "bottom"}.get(w, "middle")
                target = cur if not cur.empty else (out[-1] if out else None)
                if target is not None and target.slot is None:
                    target.slot = slot
                else:
                    pending_slot = slot
                continue
            if w in ("TOP_DOWN",):
                continue
            cur.words.append(w)
            if pending_slot and cur.slot is None:
                cur.slot, pending_slot = pending_slot, None
            if w in lx.DETERMINERS or w in lx.FILLERS or w in ("up", "down", "back", "'s", "the"):
                continue
            if w in lx.ALL_WORDS:
                cur.all = True
            elif w in ("other", "remaining", "rest", "another"):
                cur.other = True
            elif w in lx.PRONOUNS or w == _STACK_TOP:
                cur.pronoun = w
            elif w in lx.COLOURS and not (w in lx.NOUN_COLOURS and self._is_head(toks, j)):
                cur.colour = lx.COLOURS[w]
            elif w in lx.CUBE_NOUNS or w in lx.GENERIC_NOUNS:
                cur.noun = w
                if w.endswith("s") and cur.colour is None and not cur.other:
                    cur.all = True  # "the cubes", "the blocks": every one of them
            elif w in lx.OTHER_SHAPES:
                cur.other_thing = w
            elif w in lx.NON_COLOUR_MODIFIERS or w in lx.TOWER_NOUNS or w in ("tower",):
                continue
            elif w.isupper():
                continue
            else:
                nxt = toks[j + 1] if j + 1 < len(toks) else ""
                if nxt in lx.CUBE_NOUNS or nxt in lx.GENERIC_NOUNS:
                    cur.unknown = w  # an adjective we cannot read
                else:
                    g = self.encoder.ground_noun(w)
                    if g.label == "cube":
                        cur.noun = w
                    elif g.label == "other":
                        cur.other_thing = w
                    else:
                        cur.unknown = w
        if not cur.empty:
            out.append(cur)
        return out

    @staticmethod
    def _is_head(toks: list[str], j: int) -> bool:
        """True when word ``j`` ends its object phrase (nothing noun-like follows it)."""
        nxt = toks[j + 1] if j + 1 < len(toks) else ""
        return not (nxt in lx.COLOURS or nxt in lx.CUBE_NOUNS or nxt in lx.GENERIC_NOUNS)

    def _resolve(
        self, m: _Mention, ctx: _Context, exclude: tuple[str, ...] = (), previous: list[str] | None = None
    ) -> list[str]:
        """Scene names a mention refers to; refuses unknown, absent or ambiguous references.

        ``exclude`` are the objects being moved (a target is never one of them unless said
        so with "itself"); ``previous`` is what "it" means in a target phrase.
        """
        scene = ctx.scene
        seen = self._names(scene.names)
        if m.pronoun == _STACK_TOP and ctx.top:
            return [ctx.top]
        if m.pronoun in ("it", "them", "itself"):
            if m.pronoun == "itself" and exclude:
                return [exclude[0]]
            last = previous if previous is not None else ctx.last
            if not last:
                raise PlanError(f"I do not know what '{m.pronoun}' refers to; name the object")
            if m.pronoun == "it" and last[-1] in exclude and ctx.top and ctx.top not in exclude:
                # "carry the red cube to the yellow one and put it on top of it": the second
                # "it" cannot be the cube being moved; it is the destination just named.
                return [ctx.top]
            return list(last) if m.pronoun == "them" else [last[-1]]
        if m.other_thing:
            raise PlanError(f"there is no {m.other_thing} in the scene; I can see {seen}")
        if m.unknown:
            raise PlanError(
                f"I cannot tell which object '{m.text}' is ('{m.unknown}' is not a colour I know); I can see {seen}"
            )
        cands = [o for o in scene.objects if m.colour is None or o.colour == m.colour]
        if m.colour and not cands:
            noun = m.noun if m.noun and m.noun not in lx.GENERIC_NOUNS else "object"
            raise PlanError(f"there is no {m.colour} {noun.rstrip('s')} in the scene; I can see {seen}")
        if m.noun in lx.CUBE_NOUNS:
            cands = [o for o in cands if o.shape in ("cube", "box")]
        names = [o.name for o in cands]
        if m.all:
            names = [n for n in names if n not in exclude]
            if not names:
                raise PlanError(f"'{m.text}' refers to nothing in the scene; I can see {seen}")
            return names
        if m.other:
            names = [n for n in names if n not in ctx.mentioned and n not in exclude]
        elif len(names) > 1 and exclude:
            names = [n for n in names if n not in exclude] or names
        if len(names) == 1:
            return names
        if not names:
            raise PlanError(f"'{m.text}' refers to nothing left in the scene; I can see {seen}")
        raise PlanError(f"'{m.text}' is ambiguous: it could be {self._names(names, 'or')}; say which one")

    @staticmethod
    def _names(names: list[str], conj: str = "and") -> str:
        pretty = [n.replace("_", " ") for n in names]
        return pretty[0] if len(pretty) == 1 else f"{', '.join(pretty[:-1])} {conj} {pretty[-1]}"

    def _remember(self, ctx: _Context, names: list[str], moved: bool = True) -> None:
        for n in names:
            if n not in ctx.mentioned:
                ctx.mentioned.append(n)
        if moved:
            ctx.last = list(names)

    # -- relations ---------------------------------------------------------------------
    def _relations(self, toks: list[str], verb: str, clause: str, ctx: _Context) -> list[SubGoal]:
        """Read ``objects REL target [REL target ...] [and objects REL target ...]``."""
        segments: list[tuple[str | None, list[str]]] = [(None, [])]
        for j, t in enumerate(toks):
            nxt = toks[j + 1] if j + 1 < len(toks) else ""
            if t.isupper() and t not in ("TOP", "BOTTOM", "TOP_DOWN"):
                segments.append((t, []))
            elif t == "to" and segments[-1][0] is None and segments[-1][1] and _lemma(nxt) not in _VERB_SPLIT_WORDS:
                # "move the red cube to the blue one", "take the red cube to the blue one"
                # (not "pick up the red cube to put it ..."): a destination beside it.
                segments.append(("TO", []))
            else:
                segments[-1][1].append(t)
        previous = list(ctx.last)  # what "it" means in a target: the object of an earlier clause
        mentions = self._mentions(segments[0][1])
        if not mentions:
            if not ctx.held:
                raise PlanError(f"I could not tell which object to move in {clause!r}")
            objects = list(ctx.held)
        else:
            objects = self._resolve_movers(mentions, segments[1:], ctx, previous)
        self._remember(ctx, objects)
        if len(segments) == 1:
            if verb == "grasp":
                ctx.held = objects
                return []
            what = "push" if verb == "push" else "put"
            raise PlanError(
                f"where should I {what} {self._names(objects)}? Say e.g. 'on the blue cube' or 'to the left'"
            )
        ctx.held = []
        skill = "push" if verb == "push" else "pick_place"
        goals: list[SubGoal] = []
        chain_start: int | None = None  # index of the first goal of an "a on b on c" chain
        movers = objects
        top: str | None = None  # ctx.top after this clause (targets still read the last one)
        left_over: list[_Mention] = []  # movers named after a target, still without a relation
        for k, (rel, seg) in enumerate(segments[1:], start=2):
            if seg[-1:] in (["and"], ["or"]) and k < len(segments) and segments[k][0] != "EACH_OTHER":
                # "on the blue cube and on the green cube", "to the left and to the back": one
                # object, two places.
                raise PlanError(
                    f"{self._names(movers)} cannot go to two places at once ({clause!r}); say one place, "
                    "or name another object for the second"
                )
            if rel.startswith("UNSUPPORTED_"):
                name = rel.removeprefix("UNSUPPORTED_").lower().replace("_", " ")
                raise PlanError(
                    f"I cannot place things '{name}' another object; I can put them on, next to, left of or right "
                    "of an object, or in a region of the table (left, right, far, near, center)"
                )
            if rel == "TABLE":
                raise PlanError(
                    f"say where on the table to put {self._names(movers)}: left, right, far, near or center"
                )
            if rel == "EACH_OTHER":
                continue
            if rel.startswith("REGION_"):
                region = rel.removeprefix("REGION_").lower()
                target = Target(region=_REGION_CANON.get(region, region))
                goals.extend(SubGoal(skill=skill, object=o, target=target) for o in movers)
                left_over = self._mentions(seg)
                movers = self._next_movers(left_over, ctx, movers)
                chain_start, top, ctx.approach = None, None, None
                continue
            mentions = self._mentions(seg)
            if not mentions:
                raise PlanError(f"{clause!r}: {rel.lower().replace('_', ' ')} what?")
            target = self._resolve(mentions[0], ctx, exclude=tuple(movers), previous=previous)
            if len(target) != 1:
                raise PlanError(f"'{mentions[0].text}' names {len(target)} objects; name one")
            self._remember(ctx, target, moved=False)
            relation = {
                "ON": "on",
                "LEFT_OF": "left_of",
                "RIGHT_OF": "right_of",
                "NEXT_TO": "next_to",
                "TO": "next_to",
            }[rel]
            if relation == "on" and chain_start is None:
                chain_start = len(goals)
                top = movers[-1]  # the top of the stack this chain builds
            elif relation != "on":
                top = target[0] if rel == "TO" else None
            goals.extend(SubGoal(skill=skill, object=o, target=Target(**{relation: target[0]})) for o in movers)
            ctx.approach = goals[-1] if rel == "TO" and len(movers) == 1 else None
            left_over = mentions[1:]
            if left_over:  # "... on the blue cube and the green one ..." -> next movers
                previous = list(movers)  # "... and the green one on top of it": the one just placed
                movers = self._next_movers(left_over, ctx, movers)
                chain_start = None
            elif relation == "on":
                movers = target  # "red on green on blue": green goes on blue before red goes on green
            else:
                chain_start = None
        if chain_start is not None and len(goals) - chain_start > 1:
            goals[chain_start:] = goals[chain_start:][::-1]
        if left_over:
            # "put red on blue and green on top": on the stack just built. Anything else named
            # after the last target would be dropped without a word: ask instead.
            if top and len(movers) == 1 and all(m.slot == "top" for m in left_over):
                goals.append(SubGoal(skill=skill, object=movers[0], target=Target(on=top)))
                top = movers[0]
            else:
                what = "push" if verb == "push" else "put"
                raise PlanError(
                    f"where should I {what} {self._names(movers)}? Say e.g. 'on the blue cube' or 'to the left'"
                )
        ctx.top = top
        return goals

    def _resolve_movers(
        self, mentions: list[_Mention], targets: list[tuple[str | None, list[str]]], ctx: _Context, previous: list[str]
    ) -> list[str]:
        """Objects to move; an ambiguous "the cube" is retried without the named target ("the other one")."""
        try:
            return [n for m in mentions for n in self._resolve(m, ctx)]
        except PlanError:
            first = next(((r, seg) for r, seg in targets if r and not r.startswith(("REGION_", "UNSUPPORTED_"))), None)
            target_mentions = self._mentions(first[1]) if first else []
            if not target_mentions or target_mentions[0].pronoun:
                raise
            try:
                exclude = tuple(self._resolve(target_mentions[0], ctx, previous=previous))
            except PlanError:
                raise PlanError(f"I could not tell which object {mentions[0].text!r} means") from None
            return [n for m in mentions for n in self._resolve(m, ctx, exclude=exclude)]

    def _next_movers(self, mentions: list[_Mention], ctx: _Context, movers: list[str]) -> list[str]:
        if not mentions:
            return movers
        names = [n for m in mentions for n in self._resolve(m, ctx)]
        self._remember(ctx, names)
        return names

    # -- towers ------------------------------------------------------------------------
    def _tower_mentions(self, toks: list[str], ctx: _Context) -> list[_Mention]:
        if "TOP_DOWN" in toks:
            ctx.tower_reverse = True
        bad = [t for t in toks if t.startswith(("UNSUPPORTED_", "LEFT_OF", "RIGHT_OF", "NEXT_TO"))]
        if bad:
            raise PlanError("a tower is built by stacking; say the order (e.g. 'blue at the bottom, then red')")
        region = [t for t in toks if t.startswith("REGION_") and t not in ("REGION_CENTER", "REGION_MIDDLE")]
        if region:
            raise PlanError("I can build a tower but not choose where: the bottom cube stays where it is")
        # "... and the green cube on it": "it" is the cube listed before, which the order says.
        toks = [t for j, t in enumerate(toks) if not (t in ("it", "that") and j > 0 and toks[j - 1] == "ON")]
        mentions = self._mentions([t for t in toks if t not in lx.TOWER_NOUNS and t not in ("ON",)])
        # "a three-cube tower": a bare noun describes the tower, it is not one of its cubes.
        return [m for m in mentions if m.colour or m.pronoun or m.all or m.other or m.unknown or m.other_thing]

    def _finish_tower(self, ctx: _Context) -> list[SubGoal]:
        if ctx.tower is None:
            return []
        mentions, ctx.tower = ctx.tower, None
        explicit: list[tuple[str, str | None]] = []
        use_all = False
        for m in mentions:
            if m.all:
                use_all = True
                continue
            if m.pronoun == "them" and not ctx.last and len(mentions) > 1:
                continue  # "stack them: green, then red, then blue on top": the list says which
            for n in self._resolve(m, ctx):
                known = [k for k, (name, _) in enumerate(explicit) if name == n]
                if known and m.slot:  # "the red, green and blue cubes, red at the bottom"
                    explicit[known[0]] = (n, m.slot)
                elif known:
                    raise PlanError(f"the {n.replace('_', ' ')} cannot appear twice in one tower")
                else:
                    explicit.append((n, m.slot))
        if ctx.tower_reverse:
            explicit.reverse()
            ctx.tower_reverse = False
        names = [n for n, _ in explicit]
        members = names + ([n for n in ctx.scene.names if n not in names] if use_all or not names else [])
        if len(members) < 2:
            raise PlanError("a tower needs at least two cubes")
        order = [n for n, s in explicit if s == "bottom"]
        order += [n for n in members if n not in order and dict(explicit).get(n) not in ("top", "middle")]
        middles = [n for n, s in explicit if s == "middle"]
        if middles:
            bottoms = sum(1 for _, s in explicit if s == "bottom")
            mid = max(bottoms, (len(order) + 1) // 2)
            order[mid:mid] = middles
        order += [n for n, s in explicit if s == "top"]
        self._remember(ctx, order)
        ctx.top = order[-1]
        return [
            SubGoal(skill="pick_place", object=top, target=Target(on=low))
            for low, top in zip(order, order[1:], strict=False)
        ]

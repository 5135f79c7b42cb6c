"""Words the grounded planner reads directly; anything else is grounded by the sentence encoder.

Colour names map to the hue names perception reads from pixels (:func:`perception.colour_name`).
Verb and noun *prototypes* are not a closed list: an unknown verb or noun is compared, in the
encoder's embedding space, with these prototypes and takes the class of the nearest one when
it is close enough (see :mod:`embodied.planning.sentence_encoder`).
"""

from __future__ import annotations

import re

COLOURS: dict[str, str] = {
    **dict.fromkeys(
        "red crimson scarlet ruby cherry vermilion vermillion maroon burgundy cardinal carmine rose tomato blood "
        "wine brick reddish".split(),
        "red",
    ),
    **dict.fromkeys(
        "green lime emerald olive jade mint forest grass kelly sage chartreuse pea greenish leafy".split(), "green"
    ),
    **dict.fromkeys(
        "blue azure navy cobalt sapphire sky ocean royal ultramarine cerulean indigo denim blueish bluish "
        "turquoise teal aqua".split(),
        "blue",
    ),
    **dict.fromkeys(
        "yellow golden gold lemon canary mustard amber banana butter sunflower sunny blonde saffron yellowish".split(),
        "yellow",
    ),
    **dict.fromkeys("orange tangerine apricot peach".split(), "orange"),
    **dict.fromkeys("purple violet lavender lilac plum mauve magenta".split(), "purple"),
    **dict.fromkeys("pink fuchsia salmon".split(), "pink"),
    **dict.fromkeys("white ivory cream".split(), "white"),
    **dict.fromkeys("black ebony jet".split(), "black"),
    **dict.fromkeys("gray grey silver".split(), "gray"),
    **dict.fromkeys("brown tan beige chocolate".split(), "brown"),
    "cyan": "cyan",
}
"""Colour word -> hue name. Shades that sit between hues (teal, turquoise) take the nearer one
of the scene's palette."""

CUBE_NOUNS = frozenset("cube cubes block blocks box boxes brick bricks cuboid cuboids square squares".split())
GENERIC_NOUNS = frozenset("one ones object objects thing things piece pieces item items toy toys".split())
"""Nouns that name any object ("the red one")."""

OTHER_SHAPES = (
    "ball sphere cylinder cone pyramid cup mug bowl plate bottle can jar apple banana orange pen pencil book phone "
    "spoon fork knife drawer door lid box_lid tray basket bin bag shoe hat toy_car triangle star ring disk "
    "marble egg".split()
)
"""Shapes and things the tabletop scene does not hold (for grounding unknown nouns)."""

PLACE_VERBS = frozenset(
    "put place set move bring transfer relocate carry drop lay position deposit stack pile stick plop pop plonk "
    "shift transport reposition rest sit stand".split()
)
GRASP_VERBS = frozenset("pick grab take lift get grasp raise hold seize fetch hoist".split())
"""Verbs that take an object in hand; a destination must follow ("... and put it on ...")."""
PUSH_VERBS = frozenset("push slide shove nudge drag scoot slip glide sweep roll".split())
TOWER_VERBS = frozenset("build make create construct form assemble erect".split())
TOWER_NOUNS = frozenset("tower towers stack stacks pile piles column heap".split())

UNSUPPORTED_VERBS = (
    "throw toss hurl fling paint colour color open close eat break smash crush rotate spin flip turn kick hit "
    "wash clean pour drink cook sing dance fold cut shake hide juggle give hand count find show tell point "
    "look squeeze bounce melt heat swap switch exchange sort wave clap wipe tip tilt knock balance".split()
)
"""Actions outside the skill catalogue (prototypes for refusing unknown verbs)."""

ACTION_VERBS = PLACE_VERBS | GRASP_VERBS | PUSH_VERBS | TOWER_VERBS | frozenset(UNSUPPORTED_VERBS)
"""Every verb the lexicon knows: a word that starts a clause."""

VERB_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "place": ("put", "place", "move", "set", "stack", "carry", "transfer", "drop", "bring", "lay", "position"),
    "grasp": ("pick up", "grab", "take", "lift", "grasp"),
    "push": ("push", "slide", "shove", "nudge", "drag"),
    "unsupported": UNSUPPORTED_VERBS,
}

NOUN_COLOURS = frozenset(
    "orange banana lemon cherry tomato plum peach apricot chocolate rose wine grass sky ocean".split()
)
"""Colour words that are also things: as the head of an object phrase ("the banana") they name a thing."""

FILLERS = frozenset(
    "please pls thanks thank mind kindly now just also then next finally lastly afterwards first firstly second "
    "secondly third thirdly fourth last start begin can could would will you robot hey hi ok okay well so i i'd "
    "really actually definitely honestly basically simply "
    "id want need like let's lets us go ahead and to that after once done with yes quickly carefully "
    "gently slowly uh um er erm hmm ah oh alright".split()
)
"""Words that carry no action, object or place in an imperative (removed before reading the verb)."""

DETERMINERS = frozenset("the a an that this those these its some".split())
ALL_WORDS = frozenset("all every each both".split())
PRONOUNS = frozenset("it them itself".split())
NON_COLOUR_MODIFIERS = frozenset(
    "small little big large tiny wooden plastic same square cubic other remaining rest last first second "
    "dark light pale bright deep vivid pastel soft "
    "third fourth coloured colored solid heavy light shiny single lone two three four five 2 3 4 5 level high tall "
    "story storey".split()
)
"""Adjectives that do not pick out one cube in this scene (all cubes share them)."""

QUESTION_WORDS = frozenset("what which who whom whose why how where when is are does do did".split())

OUTCOME_WORDS = frozenset(
    "should must ought has have had having needs need needed be been being is are was were will shall end ends "
    "ended ending up go goes going gone belongs belong belonging would great nice good perfect love see like "
    "want wants wanted wish prefer hope expect get gets got let make stay stays remain remains lie lies lying "
    "sit sits sitting "
    "stand stands standing rest rests resting i i'd i'm we we'd we're you'd it'd that's it's there "
    "for me us finally eventually".split()
)
"""Words of an outcome stated instead of a command ("I'd like the red cube moved to the left",
"the blue block should end up on the green one", "the red one goes on top of the yellow one"):
desire, obligation, copulas, causatives and positions. Dropped when a clause is read as an
outcome; the object-relation-object structure that remains is the goal."""

CAUSATIVES = frozenset("have get let make".split())
"""Verbs that start an outcome ("have the red cube moved ...") rather than name an action."""

IRREGULAR_PARTICIPLES: dict[str, str] = {
    "put": "put",
    "set": "set",
    "laid": "lay",
    "brought": "bring",
    "slid": "slide",
    "swept": "sweep",
    "stuck": "stick",
    "held": "hold",
    "taken": "take",
    "thrown": "throw",
    "threw": "throw",
    "spun": "spin",
    "broken": "break",
    "broke": "break",
    "hidden": "hide",
    "hid": "hide",
    "shaken": "shake",
    "given": "give",
    "eaten": "eat",
    "cut": "cut",
    "hit": "hit",
    "flung": "fling",
    "tossed": "toss",
}
"""Past forms the suffix rules cannot undo ("thrown" -> throw)."""


# -- what only a conversation can mean (the interactive prompt reads these; a one-shot plan refuses them)
AGAIN = re.compile(
    r"^(?:please |now )?(?:(?:do|try) (?:it|that|this) )?(?:again|once more|one more time)(?: please)?[.!]?$"
    r"|^(?:please )?repeat(?: that| it| the last (?:one|command))?[.!]?$"
)
SAME = re.compile(
    r"^(?:please |now |and )?(?:(?:do|try) (?:the same|that|it|this)(?: again)?|same|the same) "
    r"(?:with|for|to|on) (?P<object>.+?)[.!]?$"
)

UNDO = re.compile(
    r"^(?:please |now |ok |okay )*(?:undo(?: that| it| this| the last (?:one|command|move))?"
    r"|revert(?: that| it| the last (?:one|command|move))?"
    r"|put (?:it|them|that|everything|things|it all) back(?: where (?:it was|they were))?"
    r"|take (?:that|it) back|go back)(?: please)?[.!]?$"
)
"""Lines that refer to the conversation's last command: "again", "do the same with X", "undo"."""

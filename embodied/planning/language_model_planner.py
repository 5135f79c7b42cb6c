"""Planning with a frozen Hugging Face model: a vision-language model (image + text) or a text-only LM.

The model gets the camera image (VLM only), the perceived scene, the skill catalogue and the
instruction, and answers with JSON. Decoding is constrained by a grammar compiled from a JSON
schema of the plan (xgrammar, through its transformers logits processor), with the scene's
object names and the catalogue's skills and regions as enumerations, so the answer always
parses; it then goes through the same validator as every plan. Nothing is trained: the model
is loaded in eval mode with gradients off.

Written for chat-tuned image-text-to-text models loadable with ``AutoModelForImageTextToText``
and ``AutoProcessor`` (SmolVLM / Idefics3, Qwen2-VL / Qwen2.5-VL, LLaVA) and for causal LMs
with a chat template (``planner=llm``, e.g. Qwen2.5-0.5B-Instruct, SmolLM2-360M-Instruct).
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from embodied.perception.scene import Scene
from embodied.planning.planner import PlanResult
from embodied.planning.subgoals import CATALOGUE, REGIONS, Plan, PlanError, catalogue_text, validate_plan

KINDS = ("vlm", "llm")


def plan_schema(scene: Scene, max_subgoals: int = 8) -> dict:
    """JSON schema of an answer in ``scene``: ``{"plan": [sub-goal, ...]}`` or ``{"error": "why"}``.

    Object fields are enumerations of the perceived objects, so a model cannot name one the
    camera did not see; whether a relation makes sense is left to the validator.
    """
    names = scene.names
    targets = [
        {
            "type": "object",
            "properties": {rel: {"enum": list(REGIONS) if rel == "region" else names}},
            "required": [rel],
            "additionalProperties": False,
        }
        for rel in ("on", "region", "next_to", "left_of", "right_of")
    ]
    subgoal = {
        "type": "object",
        "properties": {
            "skill": {"enum": list(CATALOGUE)},
            "object": {"enum": names},
            "target": {"anyOf": targets},
        },
        "required": ["skill", "object", "target"],
        "additionalProperties": False,
    }
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {"plan": {"type": "array", "items": subgoal, "minItems": 1, "maxItems": max_subgoals}},
                "required": ["plan"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                # Plain printable text: xgrammar's JSON strings admit raw control characters.
                "properties": {"error": {"type": "string", "pattern": "^[A-Za-z0-9 ,.;:'_-]{1,120}$"}},
                "required": ["error"],
                "additionalProperties": False,
            },
        ]
    }


def build_prompt(instruction: str, scene: Scene) -> str:
    """The text part of the prompt: frames, scene, catalogue, answer format, instruction."""
    objects = "\n".join(
        f"- {o.name}: {o.colour} {o.shape} at x={o.position[0]:.2f} y={o.position[1]:.2f} z={o.position[2]:.2f}"
        for o in scene.objects
    )
    example = {"plan": [{"skill": "pick_place", "object": "a_cube", "target": {"on": "b_cube"}}]}
    return (
        "You control a robot arm at a table. World frame: x away from the robot, y to the robot's left, metres.\n"
        f"Objects the camera sees:\n{objects or '- none'}\n"
        f"Skills:\n{catalogue_text()}\n"
        f"Regions of the table: {', '.join(REGIONS)} (left/right are the robot's; far is away from it).\n"
        "Answer with JSON only: the sub-goals in order, e.g. "
        f'{json.dumps(example)}; or {{"error": "reason"}} when the instruction names an object that is not '
        "there, is ambiguous, or asks for something the skills cannot do.\n"
        f"Instruction: {instruction}"
    )


class LanguageModelPlanner:
    """A frozen Hugging Face (vision-)language model as planner, with grammar-constrained decoding.

    Args:
        model: local folder or hub id (hub ids need a network or the local cache).
        kind: ``vlm`` (image + text, ``AutoModelForImageTextToText``) or ``llm`` (``AutoModelForCausalLM``).
        constrained: constrain decoding to :func:`plan_schema` (turn off only to measure its cost).
        max_new_tokens: generation budget; an unfinished answer is refused.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        dtype: ``auto``, ``float32``, ``bfloat16`` or ``float16``.
        name: planner name reported in results.
    """

    def __init__(
        self,
        model: str,
        kind: str = "vlm",
        constrained: bool = True,
        max_new_tokens: int = 384,
        device: str = "auto",
        dtype: str = "auto",
        name: str | None = None,
    ) -> None:
        import torch

        if kind not in KINDS:
            raise PlanError(f"planner kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not model:
            raise PlanError(f"planner={kind} needs a model: planner.model=PATH_OR_HUB_ID")
        if max_new_tokens < 16:
            raise PlanError(f"planner.max_new_tokens must be >= 16, got {max_new_tokens}")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device not in ("cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
            raise PlanError(f"planner.device must be auto, cpu or cuda (with a GPU), got {device!r}")
        dtypes = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
        if dtype not in dtypes:
            raise PlanError(f"planner.dtype must be one of {', '.join(dtypes)}, got {dtype!r}")
        self.name = name or kind
        self.kind = kind
        self.constrained = constrained
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.model_id = model
        self._torch = torch
        start = time.perf_counter()
        self.processor, self.model = self._load(model, kind, dtypes[dtype])
        self.model.to(device).eval()
        self.model.requires_grad_(False)
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.load_seconds = time.perf_counter() - start
        self._compile = lru_cache(maxsize=32)(self._compile_schema)

    @staticmethod
    def _load(model: str, kind: str, dtype: Any) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

        looks_local = model.startswith((".", "/", "~")) or model.count("/") > 1
        if looks_local and not Path(model).expanduser().is_dir():
            raise PlanError(f"planner.model folder {model!r} does not exist (give a model folder or a hub id)")
        model = str(Path(model).expanduser()) if looks_local else model
        try:
            if kind == "vlm":
                processor = AutoProcessor.from_pretrained(model)
                net = AutoModelForImageTextToText.from_pretrained(model, dtype=dtype)
            else:
                processor = AutoTokenizer.from_pretrained(model)
                net = AutoModelForCausalLM.from_pretrained(model, dtype=dtype)
        except (OSError, ValueError, KeyError) as exc:
            hint = (
                "a folder with config.json, weights and processor files, or a hub id "
                "(downloads need a network: HF_HUB_OFFLINE=1 only finds models already cached)"
            )
            raise PlanError(
                f"could not load {kind} model {model!r}: {str(exc).splitlines()[0]}; expected {hint}"
            ) from None
        return processor, net

    # -- decoding constraints ------------------------------------------------------------
    def _vocab_size(self) -> int:
        config = self.model.config
        text = getattr(config, "text_config", None) or config
        return int(text.vocab_size)

    def _compile_schema(self, schema_json: str) -> Any:
        import xgrammar as xgr

        if not hasattr(self, "_grammar_compiler"):
            info = xgr.TokenizerInfo.from_huggingface(self.tokenizer, vocab_size=self._vocab_size())
            self._grammar_compiler = xgr.GrammarCompiler(info)
        return self._grammar_compiler.compile_json_schema(schema_json, any_whitespace=False)

    # -- planning ------------------------------------------------------------------------
    def _inputs(self, instruction: str, scene: Scene, image: np.ndarray | None) -> dict:
        text = build_prompt(instruction, scene)
        if self.kind == "vlm":
            if image is None:
                raise PlanError("planner=vlm needs the camera image")
            from PIL import Image

            content = [{"type": "image", "image": Image.fromarray(np.asarray(image, dtype=np.uint8))}]
            messages = [{"role": "user", "content": [*content, {"type": "text", "text": text}]}]
            template_owner = self.processor
        else:
            messages = [{"role": "user", "content": text}]
            template_owner = self.tokenizer
        if getattr(template_owner, "chat_template", None) is None:
            raise PlanError(f"model {self.model_id!r} has no chat template; use an instruction-tuned (chat) model")
        inputs = template_owner.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in inputs.items()}

    def generate(self, instruction: str, scene: Scene, image: np.ndarray | None = None) -> tuple[str, dict]:
        """Raw model answer and timing details (tokens, seconds, tokens/s, whether it was cut off)."""
        import xgrammar as xgr

        inputs = self._inputs(instruction, scene, image)
        processors = []
        if self.constrained:
            grammar = self._compile(json.dumps(plan_schema(scene), sort_keys=True))
            processors.append(xgr.contrib.hf.LogitsProcessor(grammar))
        start = time.perf_counter()
        with self._torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                logits_processor=processors or None,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        seconds = time.perf_counter() - start
        new = out[0, inputs["input_ids"].shape[1] :]
        n = int(new.shape[0])
        stopped = n > 0 and int(new[-1]) in self._stop_ids()
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        details = {
            "tokens": n,
            "generate_seconds": round(seconds, 4),
            "tokens_per_second": round(n / seconds, 2) if seconds > 0 else None,
            "constrained": self.constrained,
            "truncated": n >= self.max_new_tokens and not stopped,
            "raw": text,
        }
        return text, details

    def _stop_ids(self) -> set[int]:
        ids = self.model.generation_config.eos_token_id
        ids = ids if isinstance(ids, list) else [ids]
        return {int(i) for i in ids if i is not None} | {int(self.tokenizer.eos_token_id or -1)}

    def plan(self, instruction: str, scene: Scene, image: np.ndarray | None = None) -> PlanResult:
        start = time.perf_counter()
        details: dict = {}
        try:
            if not isinstance(instruction, str) or not instruction.strip():
                raise PlanError("the instruction is empty; say what to do, e.g. 'put the red cube on the blue cube'")
            text, details = self.generate(instruction, scene, image)
            plan = validate_plan(self._parse(text, details), scene)
            result = PlanResult(instruction, plan, None, details=details)
        except PlanError as exc:
            result = PlanResult(instruction, None, str(exc), details=details)
        result.seconds = time.perf_counter() - start
        return result

    @staticmethod
    def _parse(text: str, details: dict) -> Plan:
        if details.get("truncated"):
            raise PlanError(f"the model did not finish its answer within {details['tokens']} tokens")
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            raise PlanError(f"the model's answer is not JSON: {text[:120]!r}") from None
        if isinstance(answer, dict) and "error" in answer and "plan" not in answer:
            raise PlanError(f"the model refused: {answer['error']}")
        if not isinstance(answer, dict) or "plan" not in answer:
            raise PlanError(f"the model's answer has no 'plan': {text[:120]!r}")
        return Plan.from_json(answer["plan"])

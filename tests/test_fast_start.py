"""Fast start: the encoder and the learned skills run as cached ONNX exports that match their
models, are built once, follow their inputs, and never leave a half-written entry."""

from __future__ import annotations

import numpy as np
import pytest

from embodied.common import artifact_cache
from embodied.common.artifact_cache import cached, file_fingerprint
from embodied.common.config_loader import load_config
from embodied.execution.skill_executors import SkillExecutor, SkillUnavailable
from embodied.execution.world_builder import build_world
from embodied.perception.tracker import SimTracker
from embodied.planning import sentence_encoder
from embodied.planning.sentence_encoder import SentenceEncoder, load_encoder
from tests.tiny_models import build_tiny_encoder

SENTENCES = [
    "put the red cube on the blue cube",
    "rearrange the cube",
    "x",
    "please slide the cherry-colored block a little closer to the robot's left-hand side of the table",
]


def test_onnx_encoder_gives_the_transformers_embeddings():
    fast, slow = SentenceEncoder(backend="onnx"), SentenceEncoder(backend="torch")
    assert (fast.backend, slow.backend) == ("onnx", "torch")
    np.testing.assert_allclose(fast.encode(SENTENCES), slow.encode(SENTENCES), atol=1e-4)
    for word in ("rearrange", "toss", "relocate"):
        assert fast.ground_verb(word).label == slow.ground_verb(word).label


def test_encoder_export_is_built_once_and_follows_the_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBODIED_CACHE_DIR", str(tmp_path / "cache"))
    model = build_tiny_encoder(tmp_path / "tiny")
    first = load_encoder(str(model))
    entries = sorted((tmp_path / "cache" / "encoders").glob("*.onnx"))
    assert len(entries) == 1
    reference = load_encoder(str(model), "torch")
    np.testing.assert_allclose(first(SENTENCES), reference(SENTENCES), atol=1e-5)

    def no_export(*args, **kwargs):
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr(sentence_encoder, "_export_onnx", no_export)
    np.testing.assert_allclose(load_encoder(str(model))(SENTENCES), first(SENTENCES))  # from the cache
    build_tiny_encoder(model, seed=1)  # new weights in the same folder: a new entry, not the stale one
    monkeypatch.undo()
    monkeypatch.setenv("EMBODIED_CACHE_DIR", str(tmp_path / "cache"))
    changed = load_encoder(str(model))
    assert len(list((tmp_path / "cache" / "encoders").glob("*.onnx"))) == 2
    assert np.abs(changed(SENTENCES) - first(SENTENCES)).max() > 1e-3


def test_a_failed_build_leaves_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBODIED_CACHE_DIR", str(tmp_path))

    def half_written(out):
        out.write_bytes(b"partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cached("policies", {"k": 1}, ".onnx", half_written, "a test entry")
    assert list((tmp_path / "policies").iterdir()) == []
    path = cached("policies", {"k": 1}, ".onnx", lambda out: out.write_bytes(b"whole"), "a test entry")
    assert path.read_bytes() == b"whole" and cached("policies", {"k": 1}, ".onnx", half_written, "x") == path


def test_fingerprints_follow_content_for_checkpoint_sized_files(tmp_path, monkeypatch):
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    a.write_bytes(b"1" * 1000)
    b.write_bytes(b"1" * 999 + b"2")
    assert file_fingerprint(a) != file_fingerprint(b)
    monkeypatch.setattr(artifact_cache, "HASH_LIMIT", 10)  # large files: size and mtime
    assert file_fingerprint(a).startswith("size=1000;")


@pytest.mark.parametrize("skill, obj", [("pick_place", "red_cube"), ("push", "green_cube")])
def test_learned_skills_act_the_same_from_onnx_and_from_sb3(skill, obj):
    """Same state, same action: the executor's ONNX runtime against the SB3 model, with the
    shipped execution-time prior overrides, on the scene's real observations and goals."""
    cfg = load_config("run", ["seed=3"])
    overrides = dict(cfg.skills.prior_overrides.get(skill, {}))
    fast = SkillExecutor(skill, "learned", prior_overrides=overrides, runtime="onnx")
    slow = SkillExecutor(skill, "learned", prior_overrides=overrides, runtime="sb3")
    world = build_world(cfg)
    try:
        tracker = SimTracker(world, obj)
        observation = fast.observation(world, tracker)
        np.testing.assert_array_equal(observation, slow.observation(world, tracker))
        achieved = world.client.base_pose(obj)[0]
        rng = np.random.default_rng(0)
        for goal in achieved + rng.uniform([-0.2, -0.2, 0.0], [0.2, 0.2, 0.1], (8, 3)):
            np.testing.assert_allclose(
                fast.act(observation, achieved, goal), slow.act(observation, achieved, goal), atol=1e-4
            )
    finally:
        world.close()


def test_a_policy_for_another_observation_layout_is_refused(monkeypatch):
    from embodied.learning import compiled_policy

    class OtherLayout:
        input_dims = {"observation": 21, "achieved_goal": 3, "desired_goal": 3}

    monkeypatch.setattr(compiled_policy, "compiled_policy", lambda *a: OtherLayout())
    with pytest.raises(SkillUnavailable, match="takes observations of 21 values.*another observation layout"):
        SkillExecutor("push", "learned", runtime="onnx")
    with pytest.raises(SkillUnavailable, match="skills.runtime must be one of onnx, sb3"):
        SkillExecutor("push", "learned", runtime="tf")


def test_a_policy_export_follows_the_code_of_its_prior(tmp_path, monkeypatch):
    """The prior is code inside the exported graph: other prior code, another cache entry."""
    from embodied.learning import compiled_policy as cp

    monkeypatch.setenv("EMBODIED_CACHE_DIR", str(tmp_path / "cache"))
    cp.compiled_policy("reach", None, {})
    cp.compiled_policy("reach", None, {})  # the same code: reused
    assert len(list((tmp_path / "cache" / "policies").glob("*.onnx"))) == 1
    edited = tmp_path / "src"
    edited.mkdir()
    for name in cp.GRAPH_SOURCES:
        text = (cp.Path(cp.__file__).with_name(name)).read_text()
        (edited / name).write_text(text + ("\n# edited\n" if name == "priors.py" else ""))
    monkeypatch.setattr(cp, "__file__", str(edited / "compiled_policy.py"))
    cp.compiled_policy("reach", None, {})
    assert len(list((tmp_path / "cache" / "policies").glob("*.onnx"))) == 2

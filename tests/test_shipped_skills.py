"""The policies shipped in the package load offline and do their job in the full scene."""

from __future__ import annotations

import json

import pytest

from embodied.learning.catalogue import SKILLS_DIR, skill_config
from embodied.learning.checkpoints import load_policy
from embodied.learning.envs import make_env
from embodied.learning.evaluation import evaluate


@pytest.mark.parametrize("skill", ["reach", "push", "pick_place"])
def test_shipped_policy_has_a_model_card_and_succeeds(skill):
    card = json.loads((SKILLS_DIR / f"{skill}.json").read_text())
    for key in ("command", "seed", "steps", "wall_seconds", "hardware", "success_rate"):
        assert key in card, key
    assert (SKILLS_DIR / f"{skill}.md").read_text().startswith(f"# {skill} skill")
    env = make_env(skill_config(skill))
    model = load_policy(skill, env=env)
    result = evaluate(model, env, 6, seed=250000)
    env.close()
    assert result.success_rate >= 4 / 6

"""Learning skills: the skill catalogue, envs, priors, residual policies, algorithms,
callbacks, training, evaluation, export and model cards."""

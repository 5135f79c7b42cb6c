"""From an instruction and a perceived scene to a validated list of sub-goals.

``subgoals`` is the schema and the skill catalogue, ``lexicon`` the vocabulary, ``planner``
the interface every planner implements, ``grounded_planner`` and ``language_model_planner``
the planners, ``sentence_encoder`` the frozen encoder, ``suites`` the instruction suites.
"""

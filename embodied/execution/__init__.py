"""Executing a plan: the hierarchical controller, the skill executors, goal geometry,
scripted motions, and the session that plans, executes and reports one instruction."""

"""Values → problems: the value policy, the rule engine, the problem catalogue and validation."""

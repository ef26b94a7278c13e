"""Analysis rules in pure Python: the offline evaluator, scoring and flagging."""

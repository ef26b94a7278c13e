"""Callscope analysis: evaluates a campaign's quality checks against a transcript, scores, flags."""

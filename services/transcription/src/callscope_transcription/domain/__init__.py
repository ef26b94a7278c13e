"""Transcription's rules in plain Python: transcript models, speakers, versions; no I/O."""

"""Callscope's transcription service: call audio in, speaker-labelled word-timed transcripts out."""

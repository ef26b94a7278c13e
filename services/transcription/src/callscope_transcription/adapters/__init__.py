"""Implementations of the ports on real technology: ffmpeg, faster-whisper, MongoDB, S3, Kafka."""

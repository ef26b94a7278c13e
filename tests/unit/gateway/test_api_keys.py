"""API keys: prefixed, random, stored only as a hash."""

from __future__ import annotations

from callscope_gateway.domain.api_keys import generate_api_key, hash_api_key, looks_like_api_key


def test_keys_are_prefixed_random_and_hashed() -> None:
    first, second = generate_api_key(), generate_api_key()
    assert first.raw.startswith("tv_") and len(first.raw) >= 3 + 43  # 256 bits, base64url
    assert first.raw != second.raw
    assert first.hash == hash_api_key(first.raw) != first.raw
    assert first.raw not in first.hash
    assert first.display_prefix == first.raw[:9]


def test_shape_check() -> None:
    assert looks_like_api_key(generate_api_key().raw)
    assert not looks_like_api_key("")
    assert not looks_like_api_key("sk_123456789012")
    assert not looks_like_api_key("tv_" + "x" * 500)

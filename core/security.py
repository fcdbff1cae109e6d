"""Bearer tokens: random, shown once, stored as SHA-256 (they carry 256 bits, so no slow hash is needed)."""

import hashlib
import hmac
import secrets


def new_token() -> str:
    return "pl_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def derived_key(secret: str, label: str) -> str:
    """A key for one use (`label`) derived from `secret` (HMAC-SHA256, hex): knowing one tells nothing of another."""
    return hmac.new(secret.encode(), label.encode(), hashlib.sha256).hexdigest()


def demo_token(admin_token: str, user_id: str) -> str:
    """A demo user's token, derived from the admin token so `make run` can print it again after a restart."""
    return "pl_" + derived_key(admin_token, user_id)[:40]


def same_token(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())

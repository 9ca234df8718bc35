import base64
import hashlib
import hmac

import pytest

from core import tokens


def legacy_token(purpose: str, nonce: str, key: str) -> str:
    """A link token as mailed before tokens were derived through salted_hmac."""
    digest = hmac.new(key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_new_token_is_stored_as_nonce_and_hash_only(settings):
    nonce, stored_hash = tokens.new_token("status")
    raw = tokens.recover_token("status", nonce, stored_hash)
    assert (len(nonce), len(raw), tokens.token_hash(raw)) == (32, 43, stored_hash)
    assert raw not in (nonce, stored_hash)


def test_tokens_differ_by_purpose_and_are_not_the_legacy_form(settings):
    nonce = "0" * 32
    assert tokens.make_token("status", nonce) != tokens.make_token("verify", nonce)
    assert tokens.make_token("status", nonce) != legacy_token("status", nonce, settings.SECRET_KEY)


def test_links_mailed_in_the_legacy_form_still_recover(settings):
    nonce = "f" * 32
    raw = legacy_token("status", nonce, settings.SECRET_KEY)
    assert tokens.recover_token("status", nonce, tokens.token_hash(raw)) == raw


def test_rotated_key_still_rebuilds_links_handed_out_before(settings):
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    nonce, stored_hash = tokens.new_token("verify")
    raw = tokens.recover_token("verify", nonce, stored_hash)
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert tokens.recover_token("verify", nonce, stored_hash) == raw
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(LookupError):
        tokens.recover_token("verify", nonce, stored_hash)

import pytest

from workflow.services import ServiceError, passwords


@pytest.mark.parametrize("candidate", [
    "short-pw",                  # under 12
    "x" * 129,                   # over 128
    "password1234",              # common
    "qwertyuiopasdf",            # common
    "aaaaaaaaaaaaaaaa",          # one character again and again
    "caseworker-2026!",          # contains the login name
])
def test_refused_passwords(app_ctx, candidate):
    with pytest.raises(ServiceError):
        passwords.check_policy(candidate, "caseworker")


@pytest.mark.parametrize("candidate", [
    "demo-password", "Korrekt hest batteri hæfteklamme", "x9!q" * 3, "ø" * 3 + "abcdefghi",
])
def test_accepted_passwords(app_ctx, candidate):
    passwords.check_policy(candidate, "caseworker")


def test_hash_is_argon2id_and_verifies(app_ctx):
    hashed = passwords.hash_password("a long enough secret")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "a long enough secret")
    assert not passwords.verify_password(hashed, "another secret value")
    assert not passwords.verify_password("not a hash", "anything at all")

"""vault/mac.py: HMAC-SHA256 (RFC 4231 test vectors)."""

from etanche.vault.mac import hmac_sha256, hmac_sha256_many


def test_rfc4231_case_2():
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_rfc4231_case_6_key_longer_than_a_block():
    assert hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First"
                       ).hex() == (
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")


def test_many_messages_under_one_key_give_each_ones_digest():
    key = b"\xaa" * 131  # longer than a block: hashed first, as a short key is padded
    messages = [b"", b"what do ya want for nothing?", b"x" * 3000, "Kèrgoat".encode()]
    assert hmac_sha256_many(key, messages) == [hmac_sha256(key, m) for m in messages]
    assert hmac_sha256_many(b"Jefe", [b"what do ya want for nothing?"])[0].hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")

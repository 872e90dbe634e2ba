"""The one registry of blind indexes: names, sizes, and what each one takes.

Each index has its own key, derived from the lab's PRF keyset with the index
name as label, and keeps the first `bits` bits of HMAC-SHA256(key, value).

Sizing (CipherSweet's rule, DESIGN §6): with R records and B bits the
expected number of unrelated records sharing a value is C = R / 2^B; a safe
size keeps 2 <= C < sqrt(R). Over the lab sizes we target, R = 10^4 .. 10^7,
the only B that satisfies the rule at both ends is 12 (C = 2.4 at 10^4,
2,441 < 3,162 at 10^7), so every index uses 12 bits: a search by index
returns about R/4096 false candidates, which the caller unseals and filters
exactly. docs/security.md tabulates each index and what it reveals.

Callers normalise values before indexing (the patients app owns the rules:
upper case without accents for names, ISO dates, E.164 phones, lower-case
emails) and join composite parts with `compose()`.
"""

from dataclasses import dataclass

from etanche.vault.errors import UnknownIndex

SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a normalised part


@dataclass(frozen=True)
class BlindIndex:
    name: str
    bits: int
    takes: str
    input_entropy_bits: float


TARGET_RECORDS = (10**4, 10**7)

INDEXES: dict[str, BlindIndex] = {
    i.name: i
    for i in [
        BlindIndex("nir", 12, "the 15-character NIR (13 digits + key), 2A/2B kept", 33),
        BlindIndex("ins", 12, "INS number + OID, compose(number, oid)", 33),
        BlindIndex("birth_name_dob", 12, "compose(birth name, date of birth YYYY-MM-DD)", 31),
        BlindIndex("used_name_dob", 12, "compose(used name, date of birth YYYY-MM-DD)", 31),
        BlindIndex(
            "phonetic_dob",
            12,
            "compose(phonetic key of birth name, phonetic key of first first name, date of birth)",
            33,
        ),
        BlindIndex("surname", 12, "a surname alone (birth or used name), normalised", 15.9),
        BlindIndex("phone", 12, "a phone number in E.164 (+33612345678)", 27),
        BlindIndex("email", 12, "an email address, trimmed and lower-cased", 30),
    ]
}


def get(name: str) -> BlindIndex:
    try:
        return INDEXES[name]
    except KeyError:
        raise UnknownIndex(
            f"no blind index named {name!r}; declare it in etanche/vault/indexes.py"
        ) from None


def compose(*parts: str) -> str:
    """Join the parts of a composite index value unambiguously."""
    return SEPARATOR.join(parts)


def coincidences(index: BlindIndex, records: int) -> float:
    return records / 2**index.bits

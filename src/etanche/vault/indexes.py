"""The one registry of blind indexes: names, what each one takes, and how sizes are chosen.

Each index has its own key, derived from the lab's PRF keyset with the index
name as label, and keeps the first B bits of HMAC-SHA256(key, value).

Sizing (CipherSweet's rule, docs/security.md): with R records and B bits the
expected number of unrelated records sharing a value is C = R / 2^B; a safe
size keeps 2 <= C < sqrt(R). One B cannot serve every lab (a fixed 12 bits
made a search unseal ~245 candidates at 10^6 patients, bench/RESULTS.md), so
each lab declares its expected number of patients R when it is created and
the vault fixes, once, B = the largest size with C >= 2, i.e. 2^(B+1) <= R;
then 2 <= C < 4 < sqrt(R) for every R >= 16. The sizes are stored with the
lab's keys and never change (a change would need a re-index of every row).
Labs provisioned before per-lab sizing keep LEGACY_BITS.

An index whose input has little entropy is capped (`max_bits`): a surname
alone would otherwise get nearly one bucket per surname in a large lab,
turning bucket sizes into a surname frequency table. docs/security.md
tabulates each index and what it reveals.

Callers normalise values before indexing (the patients app owns the rules:
upper case without accents for names, ISO dates, E.164 phones, lower-case
emails) and join composite parts with `compose()`.
"""

from dataclasses import dataclass

from etanche.vault.errors import UnknownIndex, VaultError

SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in a normalised part

LEGACY_BITS = 12  # every index of a lab provisioned before per-lab sizing
DEFAULT_EXPECTED = 100_000
MIN_EXPECTED = 1_000
MAX_EXPECTED = 100_000_000
# Consumers pack values into 32-bit advisory-lock keys (patients' _lock_identity):
# the largest size any lab can get must stay below this.
MAX_BITS = 26
DOC_SIZES = (10**4, 10**5, 10**6, 10**7)  # the sizes docs/security.md tabulates


@dataclass(frozen=True)
class BlindIndex:
    name: str
    takes: str
    input_entropy_bits: float
    max_bits: int | None = None  # a cap for low-entropy inputs


INDEXES: dict[str, BlindIndex] = {
    i.name: i
    for i in [
        BlindIndex("nir", "the 15-character NIR (13 digits + key), 2A/2B kept", 33),
        BlindIndex("ins", "INS number + OID, compose(number, oid)", 33),
        BlindIndex("birth_name_dob", "compose(birth name, date of birth YYYY-MM-DD)", 31),
        BlindIndex("used_name_dob", "compose(used name, date of birth YYYY-MM-DD)", 31),
        BlindIndex(
            "phonetic_dob",
            "compose(phonetic key of birth name, phonetic key of first first name, date of birth)",
            33,
        ),
        # Min-entropy 8.3 bits (MARTIN): no finer than the 12 bits it always had, unless
        # C < sqrt(R) needs more (13 bits from 16.8 million patients, 14 from 67 million).
        BlindIndex("surname", "a surname alone (birth or used name), normalised", 15.9, 12),
        BlindIndex("phone", "a phone number in E.164 (+33612345678)", 27),
        BlindIndex("email", "an email address, trimmed and lower-cased", 30),
        # An estimate: a few tens of millions of postal addresses, a household sharing one.
        BlindIndex("address", "compose(street words normalised, postcode)", 24),
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


def check_expected(records) -> int:
    if isinstance(records, bool) or not isinstance(records, int):
        raise VaultError("the expected number of patients must be a whole number")
    if not MIN_EXPECTED <= records <= MAX_EXPECTED:
        raise VaultError(
            f"the expected number of patients must be between {MIN_EXPECTED:,} and "
            f"{MAX_EXPECTED:,} (got {records:,})"
        )
    return records


def rule_bits(records: int) -> int:
    """The largest B with records / 2^B >= 2 (CipherSweet's C >= 2): floor(log2(R / 2))."""
    return records.bit_length() - 2


def min_bits(records: int) -> int:
    """The smallest B with records / 2^B < sqrt(records), i.e. 4^B > R."""
    bits = 0
    while 4**bits <= records:
        bits += 1
    return bits


def bits_for(index: BlindIndex, records: int) -> int:
    """The rule's B; a capped index gets its cap, never below what keeps C < sqrt(R)."""
    bits = rule_bits(records)
    if index.max_bits:
        bits = min(bits, max(index.max_bits, min_bits(records)))
    return bits


def plan(records: int) -> dict[str, int]:
    """Bits of every index for a lab expecting `records` patients."""
    check_expected(records)
    return {name: bits_for(index, records) for name, index in INDEXES.items()}


def coincidences(bits: int, records: int) -> float:
    return records / 2**bits


def stored_bits(name: str, expected: int | None, stored: dict) -> int:
    """An index's bits for a lab, from what its PRF row stores. An index declared after
    the lab was provisioned gets the same rule (deterministic: the size never changes)."""
    bits = stored.get(name)
    if bits is None:
        bits = bits_for(get(name), expected) if expected else LEGACY_BITS
    return bits

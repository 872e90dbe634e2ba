"""A French phonetic key for names: Phonex (Frédéric Brouard, 1999), steps 1 to 16.

Reference: F. Brouard, « Phonex », published with his Soundex article on
sqlpro.developpez.com/cours/soundex (1999); the rule list was checked against two public
ports (Pennaforte/Carlier's Python version, Yomguithereal's talisman `phonetics/french/phonex`).
Why it is written here rather than imported, and where it departs from the paper, is in
docs/adr/0004-french-phonetic-key.md. In short:
- the input is the letters-only search key (accents, case and separators removed first), so
  the key cannot change with accents or case;
- an initial H is dropped too (rule 2 read literally: it is not preceded by C, S or P);
- QU is replaced before Q;
- the result is the letter/digit string left after step 16, not the base-22 float of steps
  17-18, which loses letters past the eleventh and is awkward as an index key.
"""

import re

from etanche.patients.names import name_search_key

_VOWEL_OR_SOUND = "AEIOUY1234"

# (pattern, replacement), applied in order; each line is one rule of the paper.
_RULES = [
    (r"Y", "I"),  # 1
    (r"(?<![CSP])H", ""),  # 2
    (r"PH", "F"),  # 3
    (r"G(AI?[NM])", r"K\1"),  # 4: gan, gam, gain, gaim
    (r"[AE]I[NM](?=[AEIOU])", "YN"),  # 5
    (r"EAU", "O"),  # 6
    (r"OUA", "2"),
    (r"[AE]I[NM]", "4"),
    (r"AI|EI", "Y"),  # 7: the "é" sound
    (r"ER", "YR"),
    (r"ESS", "YS"),
    (r"ET", "YT"),
    (r"EZ", "YZ"),
    (r"(?:AN|ON|AM|EN|EM)(?![AEIOU1234])", "1"),  # 8: "an", "in" unless a vowel follows
    (r"IN(?![AEIOU1234])", "4"),
    (rf"(?<=[{_VOWEL_OR_SOUND}])S(?=[{_VOWEL_OR_SOUND}])", "Z"),  # 9
    (r"OE|EU", "E"),  # 10
    (r"AU", "O"),
    (r"OI|OY", "2"),
    (r"OU", "3"),
    (r"SCH|CH|SH", "5"),  # 11
    (r"SS", "S"),
    (r"SC", "S"),
    (r"C(?=[EI])", "S"),  # 12
    (r"QU|GU", "K"),  # 13
    (r"C|Q", "K"),
    (r"G(?=[AOY])", "K"),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in _RULES]
_LETTERS = str.maketrans("ADPJBVM", "OTTGFFN")  # 14
_DOUBLES = re.compile(r"(.)\1+")  # 15
_FINAL_T_OR_X = re.compile(r"[TX]$")  # 16


def phonex(letters: str) -> str:
    """Phonex steps 1-16 on upper-case letters A-Z."""
    text = letters
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    text = _DOUBLES.sub(r"\1", text.translate(_LETTERS))
    return _FINAL_T_OR_X.sub("", text)


def phonetic_key(name: str) -> str:
    """The phonetic key of a name as typed; "" when it has no letter."""
    letters = name_search_key(name)
    return phonex(letters) if letters else ""

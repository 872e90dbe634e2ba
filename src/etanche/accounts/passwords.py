"""Password and username policy (docs/accounts.md).

Entropy is computed the CNIL way (deliberation 2022-100 and its online
calculator): the size N of the alphabet implied by the character classes
present in the password, to the power of its length L, in bits: L * log2(N).
"""

import math
import re
import secrets
import string
import unicodedata

from django.core.exceptions import ValidationError

# The CNIL counts 37 special characters (those of a French AZERTY keyboard).
CLASS_SIZES = {"lower": 26, "upper": 26, "digit": 10, "special": 37}
_SPECIAL_OUTSIDE_ASCII = "special"


def _char_class(char: str) -> str:
    if char in string.ascii_lowercase:
        return "lower"
    if char in string.ascii_uppercase:
        return "upper"
    if char in string.digits:
        return "digit"
    # Accented letters, spaces and punctuation: the CNIL puts them with specials.
    return _SPECIAL_OUTSIDE_ASCII


def alphabet_size(password: str) -> int:
    return sum(CLASS_SIZES[c] for c in {_char_class(ch) for ch in password})


def cnil_entropy(password: str) -> float:
    """Bits of entropy of `password` by the CNIL formula L * log2(N)."""
    if not password:
        return 0.0
    return len(password) * math.log2(alphabet_size(password))


class CnilEntropyValidator:
    """Refuses passwords below `min_bits` of CNIL entropy (50: case 2, with lockout)."""

    def __init__(self, min_bits: int = 50):
        self.min_bits = min_bits

    def validate(self, password, user=None):
        bits = cnil_entropy(password)
        if bits < self.min_bits:
            raise ValidationError(
                "Ce mot de passe est trop prévisible (%(bits)d bits d'entropie, "
                "%(min)d exigés) : allongez-le ou mêlez minuscules, majuscules, "
                "chiffres et caractères spéciaux.",
                code="password_entropy",
                params={"bits": int(bits), "min": self.min_bits},
            )

    def get_help_text(self):
        return (
            f"Au moins {self.min_bits} bits d'entropie au sens de la CNIL : par exemple "
            "12 caractères mêlant minuscules, majuscules et chiffres."
        )


# One-time passwords: 20 characters over 62 symbols, about 119 bits of true
# entropy, and every class present so the CNIL formula agrees (>= 80 bits).
_OTP_ALPHABET = string.ascii_letters + string.digits


def generate_one_time_password(length: int = 20) -> str:
    while True:
        candidate = "".join(secrets.choice(_OTP_ALPHABET) for _ in range(length))
        if {_char_class(c) for c in candidate} == {"lower", "upper", "digit"}:
            return candidate


# Names of functions, places or placeholders, not of persons: an account named
# so is meant to be shared. Compared without accents, case or digits.
GENERIC_WORDS = frozenset(
    """
    admin administrateur administrator adm root sudo superuser super system systeme
    sysadmin operator operateur accueil reception standard secretariat secretaire
    labo lab laboratoire biologiste biologie preleveur prelevement infirmier
    infirmiere technicien technicienne stagiaire interim remplacant remplacante
    test tests testeur user users utilisateur utilisateurs guest invite visiteur
    demo default defaut anonymous anonyme public commun partage shared generic
    generique equipe team staff service support info contact direction compta
    comptabilite dpo rssi informatique it helpdesk poste etanche
    """.split()
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def generic_username_reason(username: str) -> str | None:
    """Why `username` names a function rather than a person, or None if it is fine."""
    folded = _fold(username)
    tokens = [t for t in re.split(r"[^a-z]+", folded) if t]
    if not tokens:
        return "un identifiant doit contenir des lettres"
    joined = "".join(tokens)
    for word in [joined, *tokens]:
        if word in GENERIC_WORDS:
            return f"« {word} » désigne une fonction, pas une personne"
    if len(joined) < 3:
        return "un identifiant doit désigner une personne (prenom.nom)"
    return None

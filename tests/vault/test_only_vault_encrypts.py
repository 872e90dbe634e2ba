"""The vault is the only code that encrypts, decrypts, signs or derives keys (issue 15).

Walks every module of src/etanche outside etanche/vault with `ast` and fails on
an import of a cryptographic library, of `hmac`, or of Django's signing and
keyed-hash helpers, and on a keyed BLAKE2 call. `hashlib` itself is allowed
only where a module hashes without a key, each listed below with why.
"""

import ast
from pathlib import Path

import etanche

SRC = Path(etanche.__file__).resolve().parent
VAULT = SRC / "vault"

BANNED = (
    "cryptography",
    "tink",
    "pyrage",
    "nacl",
    "Crypto",
    "Cryptodome",
    "pkcs11",
    "hmac",
    "django.core.signing",
    "django.utils.crypto",
)

UNKEYED_HASHING = {
    "journal/queries.py": "SHA-256 of a signed export's lines: a checksum the signature covers",
    "exports/crypto.py": "SHA-256 of the ciphertext as written: a checksum for the recipient",
    "imports/files.py": "SHA-256 of an imported file: which file the journal says was read",
    "breach/spool.py": "SHA-256 of an uploaded leak: which file the breach scan read",
    "ops/backup.py": "SHA-256 of a backup file and of its schema list: checksums, no key",
    "ops/backupfile.py": "SHA-256 of each backup member: the manifest's checksums, no key",
}


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        if VAULT not in path.parents:
            yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _imported(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _banned(name: str) -> bool:
    return any(name == b or name.startswith(b + ".") for b in BANNED)


def test_no_module_outside_the_vault_imports_a_crypto_primitive():
    found = []
    for rel, tree in _modules():
        for line, name in _imported(tree):
            if _banned(name):
                found.append(f"{rel}:{line} imports {name}")
            elif name == "hashlib" and rel not in UNKEYED_HASHING:
                found.append(f"{rel}:{line} imports hashlib (hash in the vault, or list it here)")
    assert found == [], "crypto outside etanche/vault:\n" + "\n".join(found)


def test_no_module_outside_the_vault_calls_a_keyed_hash():
    found = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"blake2b", "blake2s"}
                and any(k.arg == "key" for k in node.keywords)
            ):
                found.append(f"{rel}:{node.lineno} keyed {node.func.attr}")
    assert found == []


def test_every_listed_unkeyed_hashing_module_still_exists_and_hashes():
    for rel in UNKEYED_HASHING:
        names = {name for _, name in _imported(ast.parse((SRC / rel).read_text()))}
        assert "hashlib" in names, f"{rel} no longer uses hashlib: drop it from the list"


def test_the_walk_sees_a_planted_import():
    tree = ast.parse("def f():\n    from cryptography.hazmat.primitives import hashes\n")
    assert any(_banned(name) for _, name in _imported(tree))

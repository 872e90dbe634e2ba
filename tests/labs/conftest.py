from tests.vault.conftest import _fresh_vault_caches  # noqa: F401  (same cache hygiene)

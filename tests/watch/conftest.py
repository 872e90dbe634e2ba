from tests.exports.conftest import key, world  # noqa: F401  (same fixtures)

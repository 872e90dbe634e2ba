from tests.exports.conftest import key, with_patients  # noqa: F401  (same fixtures)

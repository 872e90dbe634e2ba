from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A named person. Staff identity is not patient data and stays in clear."""

    class Meta:
        db_table = "accounts_user"

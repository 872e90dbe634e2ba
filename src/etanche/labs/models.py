from django.db import models


class Lab(models.Model):
    """A laboratory: the legal entity, and the tenant every lab row belongs to."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    finess = models.CharField("FINESS", max_length=9, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug

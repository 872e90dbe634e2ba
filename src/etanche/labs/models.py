from django.db import models


class LabQuerySet(models.QuerySet):
    """The manager of every model holding lab data: its queries start at `for_lab`."""

    def for_lab(self, lab):
        """One lab's rows (a Lab or its id): no query crosses labs, none forgets the lab."""
        lab_id = getattr(lab, "pk", lab)
        if lab_id is None:
            raise ValueError(f"{self.model._meta.verbose_name} queries need a lab")
        return self.filter(lab_id=lab_id)


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

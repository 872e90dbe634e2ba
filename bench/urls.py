"""The product's URLs plus the plaintext baseline pages under /bench/plain/."""

from django.urls import include, path

from etanche.web.urls import urlpatterns as product

urlpatterns = [*product, path("bench/plain/", include("bench.plain.urls"))]

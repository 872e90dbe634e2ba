from django.urls import path

from bench.plain import views

urlpatterns = [
    path("plancher/", views.floor, name="plain_floor"),
    path("patients/", views.search, name="plain_search"),
    path("patients/nouveau/", views.patient_create, name="plain_patient_create"),
    path("patients/<int:patient_id>/demandes/nouvelle/", views.order_create,
         name="plain_order_create"),
    path("demandes/<int:pk>/", views.order_detail, name="plain_order_detail"),
]

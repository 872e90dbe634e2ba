from django.urls import path

from etanche.patients import views

urlpatterns = [
    path("patients/", views.patient_search, name="patient_search"),
    path("patients/nouveau/", views.patient_create, name="patient_create"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
]

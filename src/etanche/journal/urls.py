from django.urls import path

from etanche.journal import views

urlpatterns = [
    path("journal/", views.journal, name="journal"),
    path("journal/export/", views.journal_export, name="journal_export"),
    path("journal/patient/<int:patient_id>/", views.access_history, name="access_history"),
]

from django.urls import path

from etanche.exports import views

urlpatterns = [
    path("exports/", views.export_list, name="export_list"),
    path("exports/nouveau/", views.export_create, name="export_create"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/approuver/", views.export_approve, name="export_approve"),
    path("exports/<int:pk>/refuser/", views.export_refuse, name="export_refuse"),
    path("exports/<int:pk>/telecharger/", views.export_download, name="export_download"),
    path("exports/<int:pk>/purger/", views.export_purge, name="export_purge"),
]

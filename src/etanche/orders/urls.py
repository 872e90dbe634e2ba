from django.urls import path

from etanche.orders import views

urlpatterns = [
    path("patients/<int:patient_id>/demandes/nouvelle/", views.order_create,
         name="order_create"),
    path("demandes/analyses/", views.order_tests_preview, name="order_tests_preview"),
    path("demandes/analyses/recherche/", views.test_search, name="test_search"),
    path("demandes/<int:pk>/", views.order_detail, name="order_detail"),
    path("demandes/<int:pk>/prelevement/", views.order_sample, name="order_sample"),
    path("demandes/<int:pk>/reception/", views.order_receive, name="order_receive"),
    path("demandes/<int:pk>/annulation/", views.order_cancel, name="order_cancel"),
    path("demandes/<int:pk>/non-conformite/", views.order_reject, name="order_reject"),
    path("demandes/<int:pk>/etiquettes.pdf", views.order_labels, name="order_labels"),
    path("catalogue/", views.catalogue_list, name="catalogue"),
    path("catalogue/nouvelle/", views.catalogue_add, name="catalogue_add"),
    path("catalogue/<int:pk>/", views.catalogue_edit, name="catalogue_edit"),
    path("catalogue/<int:pk>/activation/", views.catalogue_toggle, name="catalogue_toggle"),
]

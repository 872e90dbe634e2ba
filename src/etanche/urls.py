from django.urls import include, path

from etanche import views
from etanche.accounts.views import login as accounts_login

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", accounts_login.login_view, name="login"),
    path("logout/", accounts_login.logout_view, name="logout"),
    path("", include("etanche.accounts.urls")),
    path("", include("etanche.journal.urls")),
    path("", include("etanche.patients.urls")),
    path("", include("etanche.orders.urls")),
    path("", include("etanche.exports.urls")),
]

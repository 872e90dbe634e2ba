from django.urls import path

from etanche.accounts.views import account, login, team

# URL names are unique across the project (tests/test_deny_by_default.py keys on them);
# `login` and `logout` are declared in etanche/urls.py.
urlpatterns = [
    path("connexion/code/", login.otp_verify, name="otp_verify"),
    path("connexion/double-facteur/", login.mfa_enrol, name="mfa_enrol"),
    path("connexion/mot-de-passe/", login.password_first_change, name="password_first_change"),
    path("compte/", account.account, name="account"),
    path("compte/mot-de-passe/", account.account_password, name="account_password"),
    path("compte/codes-de-secours/", account.account_recovery, name="account_recovery"),
    path("compte/double-facteur/", account.account_mfa, name="account_mfa"),
    path("compte/deconnexion-partout/", account.account_logout_all, name="account_logout_all"),
    path("compte/confirmation/", account.sudo, name="sudo"),
    path("equipe/", team.users, name="users"),
    path("equipe/nouveau/", team.user_create, name="user_create"),
    path("equipe/<int:pk>/", team.member_detail, name="member_detail"),
    path("equipe/<int:pk>/role/", team.member_role, name="member_role"),
    path("equipe/<int:pk>/desactivation/", team.member_disable, name="member_disable"),
    path("equipe/<int:pk>/deverrouillage/", team.member_unlock, name="member_unlock"),
    path("equipe/<int:pk>/mot-de-passe/", team.member_reset_password,
         name="member_reset_password"),
    path("equipe/<int:pk>/double-facteur/", team.member_reset_mfa, name="member_reset_mfa"),
    path("equipe/usage-partage/", team.shared_use, name="shared_use"),
]

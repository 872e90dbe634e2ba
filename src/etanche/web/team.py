"""The lab admin's user management, and the shared-use flags (lab admin and DPO)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from etanche.accounts import activation as activations
from etanche.accounts import services, throttle
from etanche.accounts.models import SharedUseFlag
from etanche.accounts.permissions import Perm
from etanche.web.access import current_lab, get_membership_for_user
from etanche.web.activation import activation_url
from etanche.web.decorators import require_permission, sudo_required
from etanche.web.forms.accounts import RoleForm, UserCreateForm


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _send(request, issued) -> bool:
    """Mail the activation link to the person: the admin's page never shows it."""
    return activations.send_link(issued.activation, activation_url(request, issued.token))


def _flags_of_lab(lab):
    return (SharedUseFlag.objects.filter(user__memberships__lab=lab)
            .select_related("user").distinct()[:100])


@require_GET
@require_permission(Perm.USER_MANAGE)
@never_cache
def users(request):
    lab = current_lab(request)
    members = list(services.memberships_of_lab(lab))
    for member in members:
        member.locked = throttle.is_throttled(member.user.username)
    return render(request, "accounts/users.html",
                  {"lab": lab, "members": members, "flags": _flags_of_lab(lab)})


@require_http_methods(["GET", "POST"])
@require_permission(Perm.USER_MANAGE)
@sudo_required
@never_cache
def user_create(request):
    lab = current_lab(request)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            provisioned = services.create_user(
                username=data["username"], first_name=data["first_name"],
                last_name=data["last_name"], email=data["email"], lab=lab, role=data["role"],
                actor=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return render(request, "accounts/user_created.html", {
                "created": provisioned.user, "sent": _send(request, provisioned),
                "expires_at": provisioned.activation.expires_at})
    return render(request, "accounts/user_create.html", {"form": form})


@require_GET
@require_permission(Perm.USER_MANAGE)
@never_cache
def member_detail(request, pk):
    membership = get_membership_for_user(request, pk)
    return render(request, "accounts/member_detail.html", {
        "member": membership, "role_form": RoleForm(initial={"role": membership.role}),
        "locked": throttle.is_throttled(membership.user.username),
    })


def _apply(request, pk, action):
    membership = get_membership_for_user(request, pk)
    try:
        message = action(membership)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, message)
    return redirect("member_detail", pk=membership.pk)


@require_POST
@require_permission(Perm.USER_MANAGE)
@sudo_required
def member_role(request, pk):
    form = RoleForm(request.POST)

    def action(membership):
        if not form.is_valid():
            raise ValidationError("Rôle inconnu.")
        services.change_role(membership, form.cleaned_data["role"], actor=request.user)
        return "Rôle modifié."

    return _apply(request, pk, action)


@require_POST
@require_permission(Perm.USER_MANAGE)
@sudo_required
def member_disable(request, pk):
    def action(membership):
        services.disable_membership(membership, actor=request.user)
        return "Accès désactivé ; ses sessions ont été fermées."

    return _apply(request, pk, action)


@require_POST
@require_permission(Perm.USER_MANAGE)
@sudo_required
def member_unlock(request, pk):
    def action(membership):
        services.unlock(membership, actor=request.user)
        return "Attente levée : la personne peut se connecter de nouveau."

    return _apply(request, pk, action)


@require_POST
@require_permission(Perm.USER_MANAGE)
@sudo_required
def address_unlock(request):
    """Lift the wait of a workstation's address (issue 16, item 5)."""
    try:
        services.unlock_address(request.POST.get("address", ""), lab=current_lab(request),
                                actor=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "Attente levée pour cette adresse.")
    return redirect("users")


@require_POST
@require_permission(Perm.USER_MANAGE)
@sudo_required
@never_cache
def member_reset_password(request, pk):
    """The password stops working; the person chooses a new one from a mailed link."""
    membership = get_membership_for_user(request, pk)
    try:
        issued = services.reset_member_password(membership, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("member_detail", pk=membership.pk)
    return render(request, "accounts/password_reset_done.html", {
        "member": membership, "sent": _send(request, issued),
        "expires_at": issued.activation.expires_at})


@require_POST
@require_permission(Perm.USER_MANAGE)
@sudo_required
def member_reset_mfa(request, pk):
    def action(membership):
        issued = services.reset_member_mfa(membership, actor=request.user)
        if not _send(request, issued):
            raise ValidationError(
                "Double authentification réinitialisée, mais le courriel d'activation n'a pas "
                f"pu être envoyé à {membership.user.email} : recommencez plus tard.")
        return ("Double authentification réinitialisée ; ses sessions ont été fermées. Un lien "
                f"d'activation a été envoyé à {membership.user.email} : la personne y "
                "enregistrera sa nouvelle application.")

    return _apply(request, pk, action)


@require_GET
@require_permission(Perm.SHARED_USE_READ)
@never_cache
def shared_use(request):
    lab = current_lab(request)
    return render(request, "accounts/shared_use.html", {"lab": lab, "flags": _flags_of_lab(lab)})

from etanche.accounts.permissions import Perm, has_permission
from etanche.web import menu


def access(request):
    """What the navigation may offer (the views check again)."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "can_manage_users": has_permission(membership, Perm.USER_MANAGE),
        "can_see_shared_use": has_permission(membership, Perm.SHARED_USE_READ),
        "can_read_alerts": has_permission(membership, Perm.ALERT_READ),
        "can_manage_watch": has_permission(membership, Perm.WATCH_MANAGE),
        "can_break_glass": has_permission(membership, Perm.BREAK_GLASS),
        "can_manage_breach": has_permission(membership, Perm.BREACH_MANAGE),
        # Per role, with the count of what awaits the person; lazy: only a page showing
        # the menu computes it.
        "menu": lambda: menu.items_for(membership),
    }

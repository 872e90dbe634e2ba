"""The role table: every role declared, least privilege where the design asks for it;
every permission used by an entry point; services free of HTTP."""

import ast
import sys
from pathlib import Path

from django.core.management import get_commands, load_command_class
from django.urls import URLPattern, URLResolver, get_resolver

import etanche
from etanche.accounts.models import Membership, Role
from etanche.accounts.permissions import ROLE_PERMISSIONS, Perm, has_permission, role_has


def test_every_role_has_a_declared_set():
    assert set(ROLE_PERMISSIONS) == set(Role.values)


def test_only_the_lab_admin_manages_users():
    assert [r for r in Role.values if role_has(r, Perm.USER_MANAGE)] == [Role.LABADMIN]


def test_the_lab_admin_and_auditor_read_no_patient():
    for role in (Role.LABADMIN, Role.AUDITOR):
        assert not role_has(role, Perm.PATIENT_READ)


def test_the_dpo_reads_patients_and_their_access_history_but_writes_nothing():
    assert role_has(Role.DPO, Perm.PATIENT_READ)
    assert role_has(Role.DPO, Perm.ACCESS_HISTORY_READ)
    assert not role_has(Role.DPO, Perm.PATIENT_WRITE)
    assert not role_has(Role.DPO, Perm.ORDER_WRITE)


def test_shared_use_is_shown_to_the_lab_admin_and_the_dpo():
    assert {r for r in Role.values if role_has(r, Perm.SHARED_USE_READ)} == {
        Role.LABADMIN, Role.DPO}


def test_no_membership_or_an_inactive_one_grants_nothing():
    assert not has_permission(None, Perm.PATIENT_READ)
    inactive = Membership(role=Role.BIOLOGIST, is_active=False)
    assert not has_permission(inactive, Perm.PATIENT_READ)
    assert has_permission(Membership(role=Role.BIOLOGIST, is_active=True), Perm.PATIENT_READ)


# --- every permission is used by an entry point; services know nothing of HTTP -------------

# Not fhir: a surface beside web (docs/architecture.md), whose door takes HTTP requests.
DOMAIN_APPS = ("accounts", "patients", "orders", "exports", "watch", "breach",
               "journal", "vault", "labs", "lib", "synthetic")
SRC = Path(etanche.__file__).parent


def _views(patterns):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _views(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            yield entry.callback


def _commands():
    return {name: load_command_class(app, name) for name, app in get_commands().items()
            if app.startswith("etanche.")}


def test_every_permission_is_used_by_some_entry_point():
    used = set()
    for view in _views(get_resolver().url_patterns):
        used |= {getattr(view, "required_permission", None)}
        used |= getattr(view, "reveals_permissions", frozenset())
    for command in _commands().values():
        used |= set(getattr(command, "permissions", ()))
    used.discard(None)
    assert not used - set(Perm), f"not in the table: {sorted(used - set(Perm))}"
    unused = set(Perm) - used
    assert not unused, (f"no view requires (or reveals) and no command declares "
                        f"{sorted(unused)}: remove them or add their entry point")


def _acting_member_perms(tree) -> set[str]:
    """`Perm.X` names passed to acting_member(...) in a module."""
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "acting_member"):
            found |= {arg.attr for arg in node.args if isinstance(arg, ast.Attribute)
                      and isinstance(arg.value, ast.Name) and arg.value.id == "Perm"}
    return found


def test_a_command_declares_exactly_the_permissions_it_checks():
    for name, command in _commands().items():
        tree = ast.parse(Path(sys.modules[type(command).__module__].__file__).read_text())
        declared = {Perm(p).name for p in getattr(command, "permissions", ())}
        assert declared == _acting_member_perms(tree), name


def _domain_modules():
    for app in DOMAIN_APPS:
        for path in sorted((SRC / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), filename=str(path))


def test_services_take_no_http_request_and_raise_no_http404():
    found = []
    for path, tree in _domain_modules():
        where = path.relative_to(SRC)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                args = node.args
                names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                         args.vararg, args.kwarg) if a is not None]
                if "request" in names:
                    found.append(f"{where}:{node.lineno} takes `request`")
            elif isinstance(node, ast.Name | ast.alias) and "Http404" in (
                    getattr(node, "id", None), getattr(node, "name", None)):
                found.append(f"{where}:{node.lineno} names Http404")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("django.http", "etanche.web", "etanche.ops")):
                found.append(f"{where}:{node.lineno} imports {node.module}")
    assert not found, "domain code is HTTP-free (web/access.py turns not-found into 404):\n" \
        + "\n".join(found)

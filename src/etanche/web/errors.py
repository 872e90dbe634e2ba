"""The CSRF refusal in French, in the site's layout (Django's own is a bare English page).

The 400, 403, 404 and 500 pages are Django's handlers with the templates of the
same names (templates/400.html...), extending the site's layout.
"""

from django.shortcuts import render


def csrf_failure(request, reason=""):
    # `reason` is Django's English diagnostic: for the server's log, not for the page.
    return render(request, "403.html", {"csrf_failure": True}, status=403)

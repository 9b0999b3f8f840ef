"""The console's landing page: what needs an administrator now, and where everything is."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from accounts.models import User

from ..access import administrator_required
from ..selectors.overview import console_overview
from .base import page


@require_GET
@administrator_required
def home(request: HttpRequest, admin: User) -> HttpResponse:
    return page(request, admin, "home.html", "home", overview=console_overview())

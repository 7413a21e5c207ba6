"""`/healthz`: the web process answers and can read the database."""

from django.http import JsonResponse

from explorer.models import Crawl


def healthz(request):
    last = Crawl.objects.first()
    return JsonResponse({"ok": True, "last_crawl": None if last is None else last.started_at.isoformat()})

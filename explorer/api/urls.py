"""Routes of the program interfaces."""

from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from explorer.api import badges, metrics, server_badges, v1_views, v2_rejected, v2_vantages, v2_views

router = SimpleRouter()
router.register("models", v2_views.ModelViewSet)
router.register("servers", v2_views.ServerViewSet)
router.register("sessions", v2_views.SessionViewSet)
router.register("crawls", v2_views.CrawlViewSet)
router.register("state-changes", v2_views.StateChangeViewSet)
router.register("probes", v2_views.ProbeViewSet)
router.register("consistency-checks", v2_views.ConsistencyCheckViewSet)
router.register("vantages", v2_vantages.VantageViewSet)

urlpatterns = [
    path("api/v1/state", v1_views.state, name="api-v1-state"),
    path("api/v1/is_reachable/<str:peer_id>", v1_views.is_reachable, name="api-v1-is-reachable"),
    path("api/v2/openapi.json", SpectacularJSONAPIView.as_view(), name="api-v2-schema"),
    path("api/v2/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-v2-schema"), name="api-v2-docs"),
    path("api/v2/rejected-records/", v2_rejected.rejected_records, name="api-v2-rejected-records"),
    path("api/v2/", include(router.urls)),
    path("metrics", metrics.metrics, name="metrics"),
    path("badges/models/<path:dht_prefix>.svg", badges.badge_svg, name="badge-svg"),
    path("badges/models/<path:dht_prefix>.json", badges.badge_json, name="badge-json"),
    path("badges/servers/<str:peer_id>.svg", server_badges.server_badge_svg, name="server-badge-svg"),
    path("badges/servers/<str:peer_id>.json", server_badges.server_badge_json, name="server-badge-json"),
]

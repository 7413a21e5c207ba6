"""URL routes of the site."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from explorer.views.contribute import contribute
from explorer.views.favicon import favicon
from explorer.views.health import healthz
from explorer.views.live import live_state_json
from explorer.views.model_page import model_page
from explorer.views.overview import overview
from explorer.views.probe_request import request_probe
from explorer.views.rejected import rejected_records
from explorer.views.server_feed import server_feed
from explorer.views.server_page import server_page
from explorer.views.signin_lockouts import signin_lockouts

urlpatterns = [
    path("", overview, name="overview"),
    path("models/<path:dht_prefix>/", model_page, name="model"),  # a prefix may contain "/"
    path("servers/<str:peer_id>/", server_page, name="server"),
    path("servers/<str:peer_id>/probe", request_probe, name="probe-server"),
    path("servers/<str:peer_id>/feed.atom", server_feed, name="server-feed"),
    path("rejected/", rejected_records, name="rejected-records"),
    path("contribute/", contribute, name="contribute"),
    path("live/state.json", live_state_json, name="live-state"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("alerts/", include("explorer.views.alerts.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/lockouts/", signin_lockouts, name="signin-lockouts"),  # staff: failed sign-ins, locks
    path("admin/", admin.site.urls),
    path("", include("explorer.api.urls")),
]

handler404 = "explorer.views.errors.page_not_found"
handler500 = "explorer.views.errors.server_error"

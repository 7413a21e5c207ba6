"""URL routes of the site."""

from django.urls import path

from explorer import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("healthz", views.healthz, name="healthz"),
]

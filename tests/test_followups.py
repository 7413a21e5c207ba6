"""Follow-up work is queued by task name (explorer.followups): every name it queues, routes or schedules is a task
that explorer.tasks registers, so a renamed task cannot leave the queueing side sending to nobody."""

from django.conf import settings

from config.celery import app
from explorer import followups


def test_every_queued_routed_and_scheduled_name_is_a_registered_task():
    import explorer.tasks  # noqa: F401  (registers the tasks, as a worker does)

    named = {value for name, value in vars(followups).items() if name.endswith("_TASK")}
    registered = {name for name in app.tasks if name.startswith("explorer.")}
    assert named == registered
    assert set(settings.CELERY_TASK_ROUTES) <= registered
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= registered

"""Figure dicts for history charts: the whole selected window is shown, and outages are shaded."""

from datetime import datetime, timedelta, timezone

from explorer.views.charts import model_history_figures, outages

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def point(minutes_ago, healthy):
    return {"bucket_start": NOW - timedelta(minutes=minutes_ago), "servers_online_avg": 2.0, "replication_min": 1,
            "throughput_avg": 20.0, "healthy_fraction": 1.0 if healthy else 0.0}


def test_outages_are_runs_of_unhealthy_points():
    points = [point(50, True), point(40, False), point(30, False), point(20, True), point(10, False)]
    assert outages(points) == [(NOW - timedelta(minutes=40), NOW - timedelta(minutes=20)),
                               (NOW - timedelta(minutes=10), NOW - timedelta(minutes=10))]


def test_figures_span_the_selected_window_even_with_one_point():
    window = (NOW - timedelta(hours=24), NOW)
    figures = model_history_figures([point(5, False)], window)
    assert set(figures) == {"servers", "replication", "throughput", "health"}
    for figure in figures.values():
        assert figure["layout"]["xaxis"]["range"] == [window[0].isoformat(), window[1].isoformat()]
    assert len(figures["health"]["layout"]["shapes"]) == 1


def test_a_day_of_crawls_is_thinned_for_charts_and_a_short_outage_still_shows():
    from explorer.crawls.history import CHART_POINTS, chart_points

    day = [point(minutes_ago=index / 4, healthy=index != 1000) for index in range(24 * 60 * 4, 0, -1)]
    thinned = chart_points(day, timedelta(hours=24))
    assert len(day) == 5760 and CHART_POINTS // 2 <= len(thinned) <= CHART_POINTS
    assert [item["bucket_start"] for item in thinned] == sorted(item["bucket_start"] for item in thinned)
    [(start, end)] = outages(thinned)  # one broken crawl (15 s) still marks its slice
    assert start <= NOW - timedelta(minutes=250) <= end
    assert all(item["servers_online_avg"] == 2.0 and item["replication_min"] == 1 for item in thinned)
    assert chart_points(day[:100], timedelta(hours=24)) == day[:100]

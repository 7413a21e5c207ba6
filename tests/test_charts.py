"""Figure dicts for history charts: a chart spans its window, or only its history when that is younger (with a note);
no server sample lies before the server was first seen; outages are shaded; nothing fixes a chart's width."""

from datetime import datetime, timedelta, timezone

from explorer.views.charts import (
    model_history_figures,
    outages,
    probe_latency_figure,
    server_history_figure,
    shown_range,
    span_label,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
DAY = (NOW - timedelta(hours=24), NOW)


def point(minutes_ago, healthy):
    return {"bucket_start": NOW - timedelta(minutes=minutes_ago), "servers_online_avg": 2.0, "replication_min": 1,
            "throughput_avg": 20.0, "healthy_fraction": 1.0 if healthy else 0.0}


def probe(minutes_ago, status="ok"):
    return {"started_at": NOW - timedelta(minutes=minutes_ago), "status": status, "ttft_s": 0.4,
            "token_latency_median_s": 0.1, "token_latency_p95_s": 0.2, "tokens_per_s": 9.0}


def x_range(figure):
    return [datetime.fromisoformat(moment) for moment in figure["layout"]["xaxis"]["range"]]


def note(figure):
    return figure["layout"]["title"].get("subtitle", {}).get("text", "")


def test_outages_are_runs_of_unhealthy_points():
    points = [point(50, True), point(40, False), point(30, False), point(20, True), point(10, False)]
    assert outages(points) == [(NOW - timedelta(minutes=40), NOW - timedelta(minutes=20)),
                               (NOW - timedelta(minutes=10), NOW - timedelta(minutes=10))]


def test_an_old_model_keeps_the_whole_window_even_with_one_point():
    figures = model_history_figures([point(5, False)], DAY, first_seen=NOW - timedelta(days=3))
    assert set(figures) == {"servers", "replication", "throughput", "health"}
    for figure in figures.values():
        assert x_range(figure) == list(DAY) and note(figure) == ""
    assert len(figures["health"]["layout"]["shapes"]) == 1


def test_a_young_model_is_charted_from_when_it_was_first_seen_with_a_note():
    first_seen = NOW - timedelta(hours=2)
    points = [point(minutes, True) for minutes in (119, 90, 60, 30, 1)]
    for figure in model_history_figures(points, DAY, first_seen=first_seen).values():
        assert x_range(figure) == [first_seen, NOW]
        assert note(figure) == "history since 10:00 UTC, shorter than the 24 h window"
        assert figure["layout"]["margin"]["t"] > 36  # room for the note under the title
    week = model_history_figures(points, (NOW - timedelta(days=7), NOW), first_seen=first_seen)
    assert note(week["servers"]) == "history since 10:00 UTC, shorter than the 7 d window"


def test_hourly_points_are_drawn_no_earlier_than_the_model_was_first_seen():
    first_seen = NOW - timedelta(minutes=100)  # 10:20; the 7 d series has hourly points at 10:00 and 11:00
    hourly = [point(120, False), point(60, True)]
    health = model_history_figures(hourly, (NOW - timedelta(days=7), NOW), first_seen=first_seen)["health"]
    assert health["data"][0]["x"] == [first_seen.isoformat(), (NOW - timedelta(hours=1)).isoformat()]
    assert x_range(health)[0] == first_seen
    assert [shape["x0"] for shape in health["layout"]["shapes"]] == [first_seen.isoformat()]


def test_without_a_first_seen_time_the_first_point_starts_the_chart():
    figure = model_history_figures([point(30, True), point(10, True)], DAY)["servers"]
    assert x_range(figure) == [NOW - timedelta(minutes=30), NOW]


def test_a_history_seconds_old_still_gets_a_drawable_range_and_notes_name_long_starts_by_day():
    start, end, _ = shown_range(DAY, NOW - timedelta(seconds=5))
    assert end - start == timedelta(minutes=1)
    *_, text = shown_range((NOW - timedelta(days=30), NOW), NOW - timedelta(days=3, hours=1))
    assert text == "history since Nov 23 11:00 UTC, shorter than the 30 d window"
    assert [span_label(timedelta(hours=hours)) for hours in (1, 24, 24 * 7, 24 * 30)] == ["1 h", "24 h", "7 d", "30 d"]


def test_probe_chart_of_a_young_model_starts_when_the_model_was_first_seen():
    first_seen = NOW - timedelta(minutes=90)
    figure = probe_latency_figure([probe(80), probe(50, "failed"), probe(20)], DAY, first_seen=first_seen)
    assert x_range(figure) == [first_seen, NOW] and "shorter than the 24 h window" in note(figure)
    assert x_range(probe_latency_figure([probe(20)], DAY, first_seen=NOW - timedelta(days=2))) == list(DAY)


def test_no_server_sample_is_plotted_before_the_server_was_first_seen():
    first_seen = datetime(2026, 11, 26, 10, 40, tzinfo=timezone.utc)
    samples = [{"hour": datetime(2026, 11, 26, hour, tzinfo=timezone.utc), "throughput": 10.0,
                "cache_tokens_left": 4096} for hour in (10, 11)]
    figure = server_history_figure(samples, first_seen, NOW)
    for trace in figure["data"]:
        assert [datetime.fromisoformat(x) for x in trace["x"]] == [first_seen, samples[1]["hour"]]
    assert x_range(figure) == [first_seen, NOW]


def test_the_right_axis_title_gets_room_and_no_chart_has_a_fixed_width():
    samples = [{"hour": NOW - timedelta(hours=1), "throughput": 10.0, "cache_tokens_left": 123456789}]
    server = server_history_figure(samples, NOW - timedelta(hours=1), NOW)
    right = server["layout"]["yaxis2"]
    assert right["side"] == "right" and right["automargin"] is True and right["title"]["standoff"] > 0
    figures = [server, probe_latency_figure([probe(5)], DAY), *model_history_figures([point(5, True)], DAY).values()]
    for figure in figures:
        layout = figure["layout"]
        assert "width" not in layout and layout["autosize"] is True
        assert layout["xaxis"]["automargin"] and layout["yaxis"]["automargin"]


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

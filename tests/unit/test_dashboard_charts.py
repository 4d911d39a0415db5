"""The dashboard's plotly figures, built from API records (no browser)."""

from __future__ import annotations

import datetime as dt

from dashboard import charts

NOW = dt.datetime(2025, 1, 15, 12, 0, 30, 123, tzinfo=dt.UTC)


def test_period_window_is_naive_utc() -> None:
    assert charts.period_window("last_1h", NOW) == ("2025-01-15T11:00:30", "2025-01-15T12:00:30")
    assert charts.period_start("last_7d", NOW) == "2025-01-08T12:00:30"
    assert charts.period_start("nonsense", NOW) == "2025-01-14T12:00:30"  # a day


def test_throughput_bars_stack_completed_failed_and_open() -> None:
    figure = charts.throughput_figure(
        [
            {"document_type": "invoice", "total_tasks": 5, "completed": 3, "failed": 1},
            {"document_type": "receipt", "total_tasks": 2, "completed": 2, "failed": 0},
        ]
    )
    assert [t["type"] for t in figure["data"]] == ["bar", "bar", "bar"]
    assert [t["y"] for t in figure["data"]] == [[3, 2], [1, 0], [1, 0]]
    assert figure["data"][0]["x"] == ["invoice", "receipt"]
    assert figure["layout"]["barmode"] == "stack"


def test_trends_draw_one_line_per_function_most_called_first() -> None:
    points = [
        {"function_name": name, "bucket": f"2025-01-15T{h:02d}:00:00Z", "calls": calls}
        | {"avg_runtime_seconds": float(h)}
        for name, calls in (("a", 1), ("b", 5), ("c", 3))
        for h in (11, 10)
    ]
    figure = charts.trends_figure(points, ("2025-01-15T00:00:00", "2025-01-15T12:00:00"), limit=2)
    assert [t["name"] for t in figure["data"]] == ["b", "c"]
    assert figure["data"][0]["x"] == ["2025-01-15T10:00:00Z", "2025-01-15T11:00:00Z"]
    assert {t["type"] for t in figure["data"]} == {"scatter"}  # SVG, never scattergl
    assert "2 most called of 3" in figure["layout"]["title"]["text"]
    # the window, 2% wider on each side (a point at "now" is drawn whole)
    assert figure["layout"]["xaxis"]["range"] == ["2025-01-14T23:45:36", "2025-01-15T12:14:24"]
    assert figure["layout"]["yaxis"]["range"] == [0, 12.0]  # 11 s, with headroom


def test_runs_are_grouped_by_outcome() -> None:
    runs = [
        {
            "app": "a",
            "status": "COMPLETED",
            "started": "2025-01-15T10:00:00Z",
            "duration_seconds": 5,
        },
        {"app": "b", "status": "FAILED", "started": "2025-01-15T09:00:00Z", "duration_seconds": 7},
        {
            "app": "c",
            "status": "COMPLETED",
            "started": "2025-01-15T08:00:00Z",
            "duration_seconds": 1,
        },
        {
            "app": "d",
            "status": "RUNNING",
            "started": "2025-01-15T11:00:00Z",
            "duration_seconds": None,
        },
    ]
    figure = charts.runtimes_figure(runs, limit=4)
    assert [t["name"] for t in figure["data"]] == ["completed (2)", "failed (1)"]
    assert figure["data"][0]["y"] == [1, 5]  # oldest first
    assert "the 4 latest" in figure["layout"]["title"]["text"]
    assert figure["layout"]["yaxis"]["range"] == [0, 8.0]  # every point below the top


def test_value_axes_reach_a_round_number_above_the_highest_point() -> None:
    assert charts.nice_top(900) == 1000.0  # the Statistics runs chart: 900 s sat above 800
    assert charts.nice_top(600) == 800.0
    assert charts.nice_top(1) == 1.2
    assert charts.nice_top(0.37) == 0.4
    assert charts.nice_top(0) == 1.0
    for value in (0.01, 0.9, 3, 7.5, 42, 99, 101, 12_345):
        top = charts.nice_top(value)
        assert value * charts.HEADROOM <= top <= value * 2.5
    percent = charts.value_axis("share", [0.2, 0.95], percent=True)
    assert percent["tickformat"] == ".0%"
    assert percent["range"] == [0, 1.0]


def test_throughput_axis_fits_the_stacks_and_hover_shows_a_percentage() -> None:
    invoice = {"document_type": "invoice", "total_tasks": 9, "completed": 6, "failed": 2}
    figure = charts.throughput_figure([invoice | {"success_rate": 0.667}])
    assert figure["layout"]["yaxis"]["range"] == [0, 10.0]  # 9 tasks stacked
    assert figure["data"][0]["customdata"] == [[0, 0.667]]
    assert "%{customdata[1]:.0%}" in figure["data"][0]["hovertemplate"]


def test_app_performance_charts_runtime_and_task_size_over_its_window() -> None:
    performance = {
        "bucket": "day",
        "since": "2024-12-16T12:00:00Z",
        "until": "2025-01-15T12:00:00+00:00",
        "functions": [
            {
                "function_name": "fetch",
                "points": [
                    {"bucket": "2025-01-15T00:00:00Z", "avg_runtime_seconds": 2.0, "task_size": 9},
                    {"bucket": "2025-01-14T00:00:00Z", "avg_runtime_seconds": 1.0, "task_size": 4},
                ],
            },
            {"function_name": "idle", "points": []},
        ],
    }
    runtime, size = charts.app_performance_figures(performance)
    assert [t["name"] for t in runtime["data"]] == ["fetch"]
    assert runtime["data"][0]["y"] == [1.0, 2.0]
    assert size["data"][0]["y"] == [4, 9]
    assert runtime["layout"]["xaxis"]["range"] == ["2024-12-15T21:36:00", "2025-01-16T02:24:00"]
    assert runtime["layout"]["yaxis"]["range"] == [0, 2.5]
    assert size["layout"]["yaxis"]["range"] == [0, 10.0]


def test_no_data_is_an_empty_figure_with_a_message() -> None:
    for figure in (
        charts.throughput_figure([]),
        charts.trends_figure([]),
        charts.runtimes_figure([]),
        *charts.app_performance_figures({}),
    ):
        assert figure["data"] == []
        assert figure["layout"]["annotations"][0]["text"].startswith("No ")


def test_graphs_fetch_nothing_and_link_nowhere() -> None:
    graph = charts.graph("g")
    assert graph.config["displaylogo"] is False
    assert graph.mathjax is False

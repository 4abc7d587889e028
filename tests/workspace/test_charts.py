"""The dashboard's SVG geometry (workspace.charts): the scale and its ticks, no data, one
day, large numbers, gaps in a line, and labels in Chinese."""

import pytest

from workspace import charts
from workspace.charts import Series


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (-3, 1), (1, 1), (3, 5), (7, 10), (0.3, 0.5), (12, 20), (1_234_567, 2_000_000)],
)
def test_nice_ceiling(value, ceiling):
    assert charts.nice_ceiling(value) == pytest.approx(ceiling)


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (0, [0, 1]),
        (5, [0, 1, 2, 3, 4, 5]),
        (17, [0, 5, 10, 15, 20]),
        (10, [0, 2, 4, 6, 8, 10]),
        (48_000, [0, 10_000, 20_000, 30_000, 40_000, 50_000]),
    ],
)
def test_the_axis_has_round_ticks_from_zero(highest, ticks):
    assert charts.axis(highest) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0"), (2.5, "2.5"), (950, "950"), (1200, "1.2k"), (3_000_000, "3M")]
)
def test_compact_numbers(value, text):
    assert charts.compact(value) == text


def test_stacked_bars_stack_each_day_and_scale_to_the_axis():
    chart = charts.stacked_bars(
        "Tickets",
        ["12/4", "12/5"],
        [Series("Email", "series-email", [2, 4]), Series("WeChat", "series-wechat", [0, 1])],
    )
    plot = chart.bottom - chart.top
    assert [t.text for t in chart.y_ticks] == ["0", "1", "2", "3", "4", "5"]
    email_4, email_5, wechat_5 = chart.rects
    assert email_4.height == pytest.approx(plot * 2 / 5, abs=0.1)
    assert email_5.height == pytest.approx(plot * 4 / 5, abs=0.1)
    assert wechat_5.height == pytest.approx(plot / 5, abs=0.1)
    assert wechat_5.y + wechat_5.height == pytest.approx(email_5.y, abs=0.1)  # on top of it
    assert email_5.title == "12/5 Email: 4"
    assert [s.label for s in chart.legend] == ["Email", "WeChat"]
    assert not chart.empty


def test_no_data_draws_an_empty_chart_with_an_axis():
    chart = charts.stacked_bars("Tickets", ["12/4", "12/5"], [])
    assert chart.empty
    assert chart.rects == []
    assert [t.text for t in chart.y_ticks] == ["0", "1"]
    assert chart.left < chart.middle.x < chart.right


def test_one_day_is_one_bar_across_the_plot():
    chart = charts.grouped_bars("Breaches", ["12/5"], [Series("First response", "a", [3])])
    (bar,) = chart.rects
    assert chart.left < bar.x and bar.x + bar.width < chart.right
    assert bar.y == pytest.approx(chart.top)  # 3 is the axis' top


def test_large_numbers_keep_short_tick_labels():
    chart = charts.stacked_bars("Tickets", ["12/5"], [Series("Email", "e", [48_000])])
    assert [t.text for t in chart.y_ticks][-1] == "50k"


def test_labels_are_thinned_out_but_the_latest_shows():
    labels = [f"11/{day}" for day in range(1, 31)]
    chart = charts.lines("Times", labels, [Series("Median", "m", [1] * 30)], width=480)
    shown = [label.text for label in chart.x_labels]
    assert shown[-1] == "11/30"
    assert 5 <= len(shown) < 30


def test_a_line_breaks_where_a_day_has_no_value():
    chart = charts.lines(
        "Times", ["a", "b", "c", "d", "e"], [Series("M", "m", [1, 2, None, 4, None])]
    )
    assert len(chart.lines) == 1  # a-b; d alone is a dot
    assert len(chart.lines[0].points.split()) == 2
    assert len(chart.dots) == 3


def test_a_fixed_maximum_keeps_the_score_axis_at_five():
    chart = charts.lines("Score", ["w1"], [Series("Average", "s", [3.5])], maximum=5)
    assert chart.y_ticks[-1].text == "5"


def test_chinese_labels_are_kept_as_given():
    chart = charts.horizontal_bars(
        "各队列未解决工单", [("账户安全 Security", 3), ("意见反馈", 0)], "q"
    )
    assert [t.text for t in chart.y_ticks] == ["账户安全 Security", "意见反馈"]
    assert chart.title == "各队列未解决工单"
    assert chart.rects[0].title == "账户安全 Security: 3"
    assert chart.rects[1].width == 0
    assert chart.horizontal


def test_long_queue_names_are_shortened_but_titled_in_full():
    name = "客户服务中心综合咨询与投诉处理 General enquiries"
    chart = charts.horizontal_bars("Queues", [(name, 2)], "q")
    assert chart.y_ticks[0].text == "客户服务中心综合咨询与投…"  # 12 wide characters
    assert chart.rects[0].title == f"{name}: 2"
    assert charts.shorten("Security") == "Security"

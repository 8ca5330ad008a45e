"""pages/_ui/charts.set_layout: update_layout's result at a fraction of its cost."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import pytest

from pages._ui import charts


def _pruned(value: Any) -> Any:
    """A layout as plotly draws it: an emptied property (set to None, or `{}`) is no property."""
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {})}
    return value


def _figure() -> go.Figure:
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    fig.update_layout(  # what a builder set before styling: merged into, or emptied
        legend={"traceorder": "normal", "title": {"text": "Owner"}},
        margin={"l": 3, "pad": 2},
        xaxis={"type": "category", "tickformat": "%d", "title": {"text": "Day", "font": {"size": 9}}},
        title={"text": "Money", "x": 0.5},
    )
    return fig


@pytest.mark.parametrize(
    "props",
    [
        {
            "separators": ", ",
            "height": 420,
            "font": {"size": 18},
            "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
            "legend": {"orientation": "h", "y": -0.15, "x": 0, "title": None},
            "hoverlabel": {"font": {"size": 18}},
        },
        {"barmode": "overlay", "xaxis": {"type": "date", "tickformat": None, "title": {"font": {"color": "red"}}}},
        {"title": {"text": "Products"}, "showlegend": False, "bargap": 0.25},
        {"legend": {"traceorder": "reversed"}, "title": None},
    ],
)
def test_set_layout_gives_what_update_layout_gives(props: dict[str, Any]) -> None:
    expected = _figure().update_layout(**props).to_plotly_json()
    got = charts.set_layout(_figure(), **props).to_plotly_json()
    assert _pruned(got["layout"]) == _pruned(expected["layout"])
    assert got["data"] == expected["data"]

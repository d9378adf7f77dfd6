"""Free slots skip busy intervals through a sorted index: it must answer as a scan of all would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from consulta.aggregates.rules import overlaps
from consulta.projections.views import _Busy

BASE = datetime(2026, 3, 29, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=3000).map(lambda m: BASE + timedelta(minutes=5 * m))
lengths = st.sampled_from([5, 10, 20, 40, 600, 10_000]).map(lambda m: timedelta(minutes=m))
intervals = st.lists(st.tuples(minutes, lengths).map(lambda p: (p[0], p[0] + p[1])), max_size=40)


@given(intervals, st.lists(st.tuples(minutes, lengths), min_size=1, max_size=30))
def test_the_index_finds_exactly_the_overlaps_a_full_scan_finds(busy, slots):
    index = _Busy(busy)
    for start, length in slots:
        end = start + length
        assert index.overlaps(start, end) == any(overlaps(start, end, s, e) for s, e in busy)

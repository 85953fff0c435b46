"""Reading the latency histogram lab_load writes (harness/load/latency_histogram.h).

The JSON form is {"layout": {"unit": "ns", "sub_bucket_bits": b, "max_value_bits": m},
"count", "min", "max", "sum", "buckets": [[index, count], ...]} with only non-empty buckets.
Bucket arithmetic and percentile() follow latency_histogram.cpp exactly, so a percentile
computed here equals the one lab_load stored for the same histogram. Values are nanoseconds.
"""
import json
import math
from pathlib import Path


class HistogramError(ValueError):
    """A histogram that does not follow the layout rules (the caller falls back to the
    stored percentiles)."""


class Histogram:
    def __init__(self, sub_bucket_bits, max_value_bits, buckets, count, minimum, maximum):
        if not 1 <= sub_bucket_bits <= 16 or not sub_bucket_bits < max_value_bits <= 63:
            raise HistogramError(f"bad layout: sub_bucket_bits {sub_bucket_bits}, "
                                 f"max_value_bits {max_value_bits}")
        self.bits = sub_bucket_bits
        self.bucket_count = (max_value_bits - sub_bucket_bits + 1) << sub_bucket_bits
        self.buckets = sorted(buckets)          # [(index, count)], non-empty only
        self.count = count
        self.min = minimum
        self.max = maximum
        if any(not 0 <= i < self.bucket_count for i, _ in self.buckets):
            raise HistogramError("a bucket index is out of range")
        if sum(n for _, n in self.buckets) != count:
            raise HistogramError("bucket counts do not add up to count")

    @classmethod
    def from_json(cls, data):
        try:
            layout = data["layout"]
            if layout.get("unit", "ns") != "ns":
                raise HistogramError(f"unit is {layout.get('unit')!r}, expected 'ns'")
            return cls(int(layout["sub_bucket_bits"]), int(layout["max_value_bits"]),
                       [(int(i), int(n)) for i, n in data["buckets"]], int(data["count"]),
                       int(data.get("min", 0)), int(data.get("max", 0)))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, HistogramError):
                raise
            raise HistogramError(f"not a latency histogram ({e!r})")

    def bucket_lower(self, index):
        if index < (2 << self.bits):
            return index
        shift = (index >> self.bits) - 1
        return (index - (shift << self.bits)) << shift

    def bucket_width(self, index):
        if index < (2 << self.bits):
            return 1
        return 1 << ((index >> self.bits) - 1)

    def percentile(self, p):
        """Value (ns) at percentile p (0..100): the bucket midpoint of the ceil(p% * count)-th
        value, clamped to [min, max]; 0 when empty."""
        if self.count == 0:
            return 0
        p = min(max(p, 0.0), 100.0)
        rank = min(max(math.ceil(p / 100.0 * self.count), 1), self.count)
        seen = 0
        for index, n in self.buckets:
            seen += n
            if seen >= rank:
                mid = self.bucket_lower(index) + self.bucket_width(index) // 2
                return min(max(mid, self.min), self.max)
        return self.max


def load_lab_load_histogram(path):
    """The histogram inside one lab_load --json file, or None when the file is missing or
    holds no usable histogram (the charts then use the stored percentiles)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Histogram.from_json(data["histogram"])
    except (OSError, ValueError, KeyError, TypeError):
        return None

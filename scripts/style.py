"""One look per concurrency model, shared by every chart.

A model keeps the same colour and marker on every chart (throughput, latency, memory,
startup, micro-benchmarks), so a reader who learned "orange squares are fibers" on one
chart can read the next one without the legend. The language only changes the line style,
so a Go or Java reference server of the same model stays recognisable but distinct.
"""

# model -> (colour, marker). Colours from the colour-blind-safe Okabe-Ito palette.
MODEL_STYLE = {
    "thread_per_request": {"color": "#D55E00", "marker": "o", "label": "thread per request"},
    "thread_pool":        {"color": "#E69F00", "marker": "s", "label": "thread pool"},
    "event_loop":         {"color": "#0072B2", "marker": "^", "label": "event loop"},
    "fiber":              {"color": "#009E73", "marker": "D", "label": "fiber"},
    "coroutine":          {"color": "#CC79A7", "marker": "v", "label": "C++20 coroutine"},
    "goroutine":          {"color": "#56B4E9", "marker": "P", "label": "goroutine"},
    "virtual_thread":     {"color": "#8C564B", "marker": "X", "label": "virtual thread"},
    "multi_process":      {"color": "#000000", "marker": "h", "label": "multi-process"},
    "io_uring":           {"color": "#9467BD", "marker": "p", "label": "io_uring (completion-based)"},
    "async_task":         {"color": "#BCBD22", "marker": ">", "label": "async task (work-stealing)"},
}
UNKNOWN_STYLE = {"color": "#7F7F7F", "marker": "*", "label": "unknown model"}

# language -> line style; reference servers in other languages are dashed/dotted.
LANGUAGE_LINESTYLE = {
    "cpp": "-",
    "c": (0, (5, 1)),
    "go": "--",
    "javascript": "-.",
    "java": ":",
    "rust": (0, (8, 3)),
    "python": (0, (1, 3)),
}
# Used when two servers on one chart share model and language (e.g. a variant).
EXTRA_LINESTYLES = [(0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (5, 5)), (0, (3, 5, 1, 5))]

# Micro-benchmark primitive -> the model it underlies (for its colour and marker).
PRIMITIVE_MODEL = {
    "std_thread": "thread_per_request",
    "java_thread": "thread_per_request",
    "process": "multi_process",
    "tbb_task": "thread_pool",
    "dotnet_tpl": "thread_pool",
    "asio_post": "event_loop",
    "node_promise": "event_loop",
    "boost_fiber": "fiber",
    "boost_context": "fiber",
    "ucontext": "fiber",
    "cpp20_coroutine": "coroutine",
    "goroutine": "goroutine",
    "java_virtual_thread": "virtual_thread",
}

PUBLISHED_COLOR = "#BBBBBB"       # published reference values: grey, hatched
# What hollow (client-bound) and crossed (overloaded) markers mean: metrics.FLAGS.


def model_style(model):
    """Colour, marker and label of a model; unknown models get a neutral grey star."""
    return MODEL_STYLE.get(model, UNKNOWN_STYLE)


def primitive_style(primitive):
    return model_style(PRIMITIVE_MODEL.get(primitive))


class ServerStyles:
    """Assigns each server on one chart its model's colour+marker and a line style.

    Servers are assigned in sorted order so the result does not depend on the order the
    harness happened to measure them in.
    """

    def __init__(self, servers):
        # servers: iterable of (name, model, language)
        self._styles = {}
        used = set()
        for name, model, language in sorted(set(servers)):
            base = dict(model_style(model))
            linestyle = LANGUAGE_LINESTYLE.get(language, "-")
            key = (model, str(linestyle))
            extra = iter(EXTRA_LINESTYLES)
            while key in used:
                linestyle = next(extra, "-")
                key = (model, str(linestyle))
                if linestyle == "-":
                    break
            used.add(key)
            base["linestyle"] = linestyle
            self._styles[name] = base

    def __getitem__(self, name):
        return self._styles[name]

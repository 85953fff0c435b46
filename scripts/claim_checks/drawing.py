"""The charts of ./lab claims: one PNG (and SVG) per measured claim, in the lab's styles.

Bars take their model's colour from style.py (a server keeps its colour on every chart);
reference lines and bands mark what the claim says. Only the evaluators in this package call
these; they receive plain rows, never results files.
"""
import charts
import style


def bar_chart(folder, name, title, context, rows, ylabel, log=False, lines=(), bands=(),
              primitive=False):
    """rows: (label, model or primitive, median, min, max). lines: (y, text). bands: (low,
    high, text). Returns the written paths."""
    fig, ax = charts.new_figure(title, context, size=(10, 5.5))
    labels = [r[0] for r in rows]
    for i, (label, model, median, low, high) in enumerate(rows):
        st = style.primitive_style(model) if primitive else style.model_style(model)
        ax.bar(i, median, color=st["color"], edgecolor="#333", linewidth=0.5, zorder=3)
        if low is not None and high is not None and high > low:
            ax.errorbar(i, median, yerr=[[median - low], [high - median]], color="#222",
                        capsize=3, linewidth=1, zorder=4)
    palette = ["#999999", "#CC3311", "#0077BB"]
    for k, (y, text) in enumerate(lines):
        ax.axhline(y, color=palette[k % len(palette)], linestyle="--", linewidth=1.2,
                   label=text)
    for k, (low, high, text) in enumerate(bands):
        ax.axhspan(low, high, color=palette[(k + 1) % len(palette)], alpha=0.12, label=text,
                   zorder=0)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
        charts.readable_log_axis(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    if lines or bands:
        ax.legend(fontsize=8, loc="best")
    return charts.save(fig, folder, name)


def warmup_chart(folder, name, title, context, series):
    """series: server -> (model, language, per-second counts, seconds to 90 % or None)."""
    fig, ax = charts.new_figure(title, context, size=(10, 5.5))
    styles = style.ServerStyles((s, m, lang) for s, (m, lang, _, _) in series.items())
    for server, (model, language, curve, t90) in sorted(series.items()):
        st = styles[server]
        xs = list(range(1, len(curve) + 1))
        ax.plot(xs, curve, color=st["color"], marker=st["marker"], markersize=3,
                linestyle=st["linestyle"], label=f"{server} (90 % after {t90 or '–'} s)")
    ax.set_xlabel("seconds after the cold start")
    ax.set_ylabel("requests/s in that second (median of cold starts)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2, loc="lower right")
    return charts.save(fig, folder, name)



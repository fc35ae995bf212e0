"""The report of a comparison of two models (:func:`topicclf.compare`): ``comparison.json``,
``report.md`` and ``comparison.png`` (the difference B - A per metric and label, with its 95 %
interval, overall and per group). Imports neither :mod:`topicclf.evaluate` nor
:mod:`topicclf.comparison`, so that :func:`topicclf.write_report` can hand a comparison over to it.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["write_comparison"]


def write_comparison(result: dict, out_dir, title: str | None = None) -> Path:
    """Write ``comparison.json``, ``report.md`` and ``comparison.png`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    (out / "comparison.json").write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    plots = _plot(public, out)
    (out / "report.md").write_text(_markdown(public, plots, title), encoding="utf-8")
    return out


def _fmt_stat(s: dict) -> tuple[str, str, str, str, str]:
    f = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
    ci = "—" if s["ci95"] is None else f"[{s['ci95'][0]:+.3f}, {s['ci95'][1]:+.3f}]"
    diff = "—" if s["diff"] is None else f"{s['diff']:+.3f}"
    verdict = {"A": "A better", "B": "B better", None: "no clear difference"}[s["better"]]
    if s["ci95"] is None:
        verdict = "not measurable"
    return f(s["a"]), f(s["b"]), diff, ci, verdict


def _markdown(r: dict, plots: list[str], title: str | None) -> str:
    a, b = r["a"]["name"], r["b"]["name"]
    lines = [f"# {title or f'{a} (A) vs {b} (B)'}", "", f"**{r['summary']}**", "",
             f"- A: `{a}`; B: `{b}`; records: {r['n']}",
             f"- method: {r['method']}",
             f"- the models disagree on {r['disagreement']['records']} records; closer to the gold labels there: "
             f"A on {r['disagreement']['closer_to_gold']['A']}, B on {r['disagreement']['closer_to_gold']['B']}, "
             f"tie on {r['disagreement']['closer_to_gold']['tie']}", "",
             "## Overall and per label", "",
             "| metric | A | B | B - A | 95 % interval | verdict |", "|---|---|---|---|---|---|"]
    for k, s in r["overall"].items():
        lines.append(f"| {k.replace('_f1', '-F1')} | " + " | ".join(_fmt_stat(s)) + " |")
    for l, s in r["per_label"].items():
        lines.append(f"| F1 {l} (support {s['support']}) | " + " | ".join(_fmt_stat(s)) + " |")
    for gname, groups in r.get("groups", {}).items():
        lines += ["", f"## By {gname}", "", f"| {gname} | n | macro-F1 A | macro-F1 B | B - A | 95 % interval | verdict "
                  "| labels where one is better |", "|---|---|---|---|---|---|---|---|"]
        for g, v in groups.items():
            wins = ", ".join(f"{l} ({s['better']} {s['diff']:+.2f})" for l, s in v["per_label"].items() if s["better"])
            lines.append(f"| {g} | {v['n']} | " + " | ".join(_fmt_stat(v["overall"]["macro_f1"])) + f" | {wins or '—'} |")
    if plots:
        lines += ["", "## Plot", ""] + [f"![{p}]({p})" for p in plots]
    if r.get("disagreements"):
        quoted = any("text_start" in d for d in r["disagreements"])
        lines += ["", f"## The {len(r['disagreements'])} records on which they disagree most", "",
                  "Ranked by how far apart the two models' scores are on the labels they decide differently "
                  "(each model's scores on its own scale, threshold = 0.5)." + ("" if quoted else
                  " Texts are not quoted: look the ids up in the data file."), "",
                  "| id | lang | gold | A | B | closer | gap |" + (" text start |" if quoted else ""),
                  "|---|---|---|---|---|---|---|" + ("---|" if quoted else "")]
        for d in r["disagreements"]:
            row = (f"| {d['id']} | {d['lang']} | {', '.join(d['gold']) or '—'} | {', '.join(d['a']) or '—'} | "
                   f"{', '.join(d['b']) or '—'} | {d['closer']} | {d['gap']:.2f} |")
            if quoted:
                row += " " + d.get("text_start", "").replace("|", "\\|") + " |"
            lines.append(row)
    return "\n".join(lines) + "\n"


def _plot(r: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    panels = [("all records", r["overall"], r["per_label"])]
    for gname, groups in r.get("groups", {}).items():
        for g, v in groups.items():
            panels.append((f"{gname} = {g} (n={v['n']})", v["overall"], v["per_label"]))
    panels = panels[:7]
    rows_per = len(r["overall"]) + len(r["per_label"])
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels) + 1.5, 0.38 * rows_per + 1.6),
                             sharey=True, squeeze=False)
    for ax, (name, overall, per_label) in zip(axes[0], panels):
        items = [(k.replace("_f1", "-F1"), s) for k, s in overall.items()] + [(f"F1 {l}", s) for l, s in per_label.items()]
        for y, (label, s) in enumerate(items):
            if s["ci95"] is None:
                continue
            color = {"A": "tab:red", "B": "tab:green", None: "tab:gray"}[s["better"]]
            ax.errorbar(s["diff"], y, xerr=[[s["diff"] - s["ci95"][0]], [s["ci95"][1] - s["diff"]]],
                        fmt="o", color=color, capsize=3, ms=4)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(items)), [i[0] for i in items])
        if ax is axes[0][0]:  # the axes share y: once for all
            ax.invert_yaxis()
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("B - A (95 % interval)", fontsize=8)
    fig.suptitle(f"{r['b']['name']} (B) minus {r['a']['name']} (A): green B better, red A better, grey no clear "
                 "difference", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "comparison.png", dpi=110)
    plt.close(fig)
    return ["comparison.png"]

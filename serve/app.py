"""The NewsLens web page (gradio). Presentation only: every answer comes from ``Predictor``."""
from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from model.paths import REPO_ROOT
from model.predictor import LivePredictor, Predictor
from model.results import Prediction
from model.text import normalize, split_sentences

log = logging.getLogger("newslens.serve")

EXAMPLES_DIR = REPO_ROOT.parent / "shared" / "examples"
OWN_EXAMPLES = [
    "Đội tuyển Việt Nam giành chiến thắng 2-0 trước Thái Lan trong trận chung kết. "
    "Huấn luyện viên cho biết các cầu thủ đã thi đấu kiên cường suốt 90 phút. "
    "Người hâm mộ đổ ra đường ăn mừng tại TP. Hồ Chí Minh và Hà Nội.",
    "Ngân hàng Nhà nước vừa điều chỉnh giảm lãi suất điều hành 0,5 điểm phần trăm. "
    "Theo các chuyên gia, quyết định này giúp doanh nghiệp tiếp cận vốn vay dễ hơn. "
    "Chỉ số VN-Index tăng mạnh ngay sau thông tin trên, đạt 1.250 điểm.",
    "Bộ Y tế khuyến cáo người dân tiêm vắc-xin phòng cúm trước mùa đông. "
    "PGS. TS. Nguyễn Văn A, Bệnh viện Bạch Mai, cho biết số ca mắc tăng 30% so với cùng kỳ.",
]
# System fonts that cover Vietnamese; no web fonts, the app must work offline.
FONTS = ["Noto Sans", "DejaVu Sans", "Segoe UI", "Arial", "sans-serif"]
MONO_FONTS = ["Noto Sans Mono", "DejaVu Sans Mono", "Consolas", "monospace"]
EMPTY_MESSAGE = "✍️ Paste a Vietnamese news article (or pick an example below), then press **Analyse**."


def examples() -> list[str]:
    found = sorted(EXAMPLES_DIR.glob("*.txt")) if EXAMPLES_DIR.is_dir() else []
    return [p.read_text(encoding="utf-8") for p in found] + OWN_EXAMPLES


def highlighted_article(text: str, result: Prediction) -> list[tuple[str, str | None]]:
    """The article as (segment, label) pairs, summary sentences labelled "summary"."""
    norm = normalize(text)
    sentences = split_sentences(norm)
    chosen = set(result.summary.sentences)
    out: list[tuple[str, str | None]] = []
    pos = 0
    for i, s in enumerate(sentences):
        if i in chosen:
            if s.start > pos:
                out.append((norm[pos : s.start], None))
            out.append((norm[s.start : s.end], "summary"))
            pos = s.end
    out.append((norm[pos:], None))
    return [seg for seg in out if seg[0]]


def render_result(text: str, result: Prediction):
    """Values for the output components, in the order ``build_app`` wires them."""
    notes = [f"**{result.type.label}** · topics: {', '.join(result.topics.labels) or '—'} · "
             f"{result.elapsed_ms:.0f} ms · model `{result.model.name}` ({result.model.kind})"]
    notes += [f"⚠️ {w}" for w in result.warnings]
    keywords = [[k.phrase, round(k.score, 3)] for k in result.keywords]
    return (
        "\n\n".join(notes),
        result.type.scores,
        {label: p for label, p in sorted(result.topics.scores.items(), key=lambda x: -x[1])[:8]},
        keywords,
        result.summary.text,
        highlighted_article(text, result),
    )


def empty_outputs(message: str):
    return message, None, None, [], "", []


def build_app(source: Predictor | LivePredictor) -> gr.Blocks:
    """The page. ``source`` is a fixed ``Predictor`` or a ``LivePredictor`` that follows the registry."""
    current = source.get if isinstance(source, LivePredictor) else (lambda: source)
    predictor = current()

    def analyse(text: str, title: str = ""):
        if not text or not text.strip():
            return empty_outputs(EMPTY_MESSAGE)
        try:
            result = current().predict(text, title or "")
        except (ValueError, TypeError) as e:
            return empty_outputs(f"⚠️ {e}")
        return render_result(text, result)

    with gr.Blocks(title="NewsLens") as demo:
        gr.Markdown(
            "# NewsLens\nVietnamese news → **article type**, **key topics**, **keywords** and a "
            f"**draft summary**. Model: `{predictor.info.name}` ({predictor.info.kind})."
        )
        with gr.Row():
            with gr.Column(scale=3):
                title = gr.Textbox(label="Headline (optional)", lines=1)
                article = gr.Textbox(label="Article", lines=14, placeholder="Dán bài báo vào đây…")
                with gr.Row():
                    analyse_btn = gr.Button("Analyse", variant="primary")
                    clear_btn = gr.ClearButton(value="Clear")
            with gr.Column(scale=2):
                message = gr.Markdown(EMPTY_MESSAGE)
                type_scores = gr.Label(label="Article type", num_top_classes=5)
                topic_scores = gr.Label(label="Topic probabilities", num_top_classes=8)
        with gr.Row():
            keywords = gr.Dataframe(headers=["keyword", "score"], label="Keywords", interactive=False)
            summary = gr.Textbox(label="Draft summary", lines=4)
        highlighted = gr.HighlightedText(label="Article (summary sentences highlighted)", color_map={"summary": "#fde68a"})

        outputs = [message, type_scores, topic_scores, keywords, summary, highlighted]
        analyse_btn.click(analyse, inputs=[article, title], outputs=outputs, api_name="analyse")
        article.submit(analyse, inputs=[article, title], outputs=outputs, api_name="analyse_submit")
        clear_btn.add([article, title, type_scores, topic_scores, keywords, summary, highlighted])
        gr.Examples(examples=[[e] for e in examples()], inputs=[article], label="Examples")
    return demo


def theme() -> gr.themes.Base:
    return gr.themes.Default(font=FONTS, font_mono=MONO_FONTS)


def launch(model: str | None = None, host: str = "127.0.0.1", port: int = 7860, **kwargs) -> None:
    # With no model named, follow the registry: a promoted model is served without a restart.
    source = Predictor.load(model) if model else LivePredictor()
    log.info("serving %s on http://%s:%d", (source if model else source.get()).info.path, host, port)
    demo = build_app(source)
    demo.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port, theme=theme(), **kwargs)


if __name__ == "__main__":
    launch()

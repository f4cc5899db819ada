"""The studio's page: one tab per tool, the models shared by every visitor, one Visitor (gr.State) per browser,
a bounded queue with one worker for the models, and a server on this machine only unless asked otherwise."""
import gradio as gr

from latentcat.errors import UserError
from latentcat.studio.draw_tab import DrawTab
from latentcat.studio.edit_tab import EditTab
from latentcat.studio.invert_tab import InvertTab
from latentcat.studio.mix_tab import MixTab
from latentcat.studio.morph_tab import MorphTab
from latentcat.studio.studio import Studio, Visitor

TABS = (DrawTab, InvertTab, MorphTab, MixTab, EditTab)
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# The canvas starts with the brush in hand (Gradio's editor otherwise asks for a tool first).
PICK_BRUSH = """() => {
  let tries = 0;
  const pick = () => {
    const brush = document.querySelector('#draw-canvas button[aria-label="Brush"]');
    if (brush) brush.click(); else if (tries++ < 50) setTimeout(pick, 200);
  };
  pick();
}"""


def forget(visitor: Visitor | None) -> None:
    """A visitor's browser has gone: its folder goes too."""
    if visitor is not None:
        visitor.close()


def header(studio: Studio) -> str:
    info = studio.session.generator_info()
    encoder = "with its encoder" if studio.session.encoder is not None else "without an encoder"
    return (f"## latentcat studio\nGenerator `{info['path'].replace(chr(92), '/').rsplit('/', 1)[-1]}` "
            f"({info['arch']}, {info['resolution']} px), {encoder}, on {studio.session.device}. "
            "Your drawings, photos and results stay in this browser session.")


def build_page(studio: Studio) -> gr.Blocks:
    with gr.Blocks(title="latentcat studio", analytics_enabled=False, delete_cache=(1800, 3600)) as page:
        gr.Markdown(header(studio))
        # a function, not the bound method: gr.State deep-copies its value, and a method's copy is a copy of the
        # studio, models and all
        visitor = gr.State(lambda: studio.new_visitor(), delete_callback=forget)
        with gr.Tabs():
            for tab in TABS:
                tab(studio).layout(visitor)
    return page


def serve(studio: Studio, block: bool = True) -> gr.Blocks:
    """Start the page's server; with block=False return at once (tests), else serve until interrupted."""
    o = studio.options
    if o.host not in LOOPBACK:
        print(f"note: listening on {o.host}: anyone who can reach this machine can use the page")
    page = build_page(studio)
    page.queue(max_size=o.queue_size, default_concurrency_limit=1)
    try:
        page.launch(server_name=o.host, server_port=o.port, share=o.share, prevent_thread_lock=not block,
                    max_file_size=int(o.max_upload_mb * 2 ** 20), show_error=False, quiet=not block,
                    run_history=False, enable_monitoring=False, mcp_server=False, ssr_mode=False,
                    footer_links=["api", "settings"], js=PICK_BRUSH, inbrowser=False)
    except OSError as e:
        raise UserError(f"cannot serve on {o.host}:{o.port} ({e}); choose another --port or --host") from None
    return page

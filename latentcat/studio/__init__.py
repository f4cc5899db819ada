"""latentcat studio: a web page (Gradio) to draw, invert, morph and mix cats. Every action calls the engine and
the jobs the command line uses; this package lays out the controls and streams the results."""

"""The studio's settings: where it listens, how much it accepts, and the page's starting values. Kept free of
Gradio, so the command line reads its flag defaults here without loading the web stack."""
from dataclasses import dataclass


@dataclass(frozen=True)
class StudioOptions:
    host: str = "127.0.0.1"      # this machine only; another address exposes the page to the network
    port: int = 7860
    share: bool = False          # a public Gradio share link: only when asked for
    max_upload_mb: float = 10.0  # larger uploads are refused before they reach latentcat
    queue_size: int = 16         # requests waiting for the model at most; more are turned away with a message
    draw_samples: int = 3        # random starts per sketch (K), as the draw command
    draw_steps: int = 100
    invert_steps: int = 100      # refinement steps after the encoder's guess (the hybrid's 100)
    morph_frames: int = 15
    update_seconds: float = 0.5  # a running fit streams new pictures at most this often
    debounce_seconds: float = 0.2  # a stroke followed this soon by another is not fitted on its own

    def __post_init__(self):
        if not 0 < self.port < 65536:
            raise ValueError(f"--port must be in 1-65535, got {self.port}")
        if not self.max_upload_mb > 0:
            raise ValueError(f"--max-upload-mb must be > 0, got {self.max_upload_mb}")
        for name in ("queue_size", "draw_samples", "draw_steps", "morph_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be positive, got {getattr(self, name)}")
        if self.invert_steps < 0 or self.update_seconds < 0 or self.debounce_seconds < 0:
            raise ValueError("invert steps, update seconds and debounce seconds must be >= 0")

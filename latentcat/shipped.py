"""Where the shipped models live, so every command can default to them."""
from pathlib import Path

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
SHIPPED_GENERATOR = CHECKPOINTS / "stylegan2-cat64.safetensors"
SHIPPED_ENCODER = CHECKPOINTS / "encoder-cat64.safetensors"  # trained for SHIPPED_GENERATOR only

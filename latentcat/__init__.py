"""Shared infrastructure for latentcat: errors, files, images, datasets, checkpoints, training loops."""

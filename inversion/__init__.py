"""The inversion engine on tensors (no file I/O, no CLI): latent spaces, losses, the LBFGS/Adam loop, tasks."""

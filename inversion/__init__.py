"""The inversion engine (latent spaces, reconstruction losses, LBFGS/Adam loop, tasks). Built in its own issue."""

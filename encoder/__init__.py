"""The w+ encoder (ResNet backbone, pSp-style heads): one forward pass from photo to latent. Built in its own issue."""

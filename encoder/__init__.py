"""The w+ encoder: a ResNet with pSp-style heads that predicts w+ codes (as offsets from w_avg) in one pass."""

"""Models: backbones, the shipped FER classifier, the content-addressed feature cache and the
float32 / bfloat16 engines (with their measured agreement)."""

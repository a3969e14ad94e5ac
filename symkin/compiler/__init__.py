"""The compiler's stages: derive (model → column program), lower (→ program), emit (→ source)."""

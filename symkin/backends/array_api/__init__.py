"""What the JAX and NumPy backends share: a printer, a runtime and templates
(``templates/functional/``) written against an array namespace ``xp`` (``jax.numpy`` or
``numpy``), with the same functions in both. Not a backend itself."""

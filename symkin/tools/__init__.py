"""Tools for users of generated torch modules: losses and rotation conversions, inverse kinematics."""

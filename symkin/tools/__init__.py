"""Tools for users of generated torch modules: losses, rotation conversions, inverse kinematics."""

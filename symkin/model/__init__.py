"""The kinematic model every input format is read into: links, joints, placements, masses."""

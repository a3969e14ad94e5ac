"""Reading what symkin derived: formulas, the closed form's operation counts, the tree, reports."""

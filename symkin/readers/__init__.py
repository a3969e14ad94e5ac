"""Input formats: URDF, MJCF (through MuJoCo) and Denavit–Hartenberg tables, each read into a
:class:`~symkin.model.robot.RobotModel`."""

"""Shared test helpers: compiling robots into live modules, an independent Pinocchio oracle,
sampling."""

from __future__ import annotations

import functools
import inspect
import math
import sysconfig
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import symkin

ROBOTS = Path(sysconfig.get_paths()["purelib"]) / "cmeel.prefix/share/example-robot-data/robots"
REPO = Path(__file__).resolve().parent.parent


# (file, tips, base): arms, continuous and prismatic joints, mimic joints, trees, a non-root base.
PINOCCHIO_CASES = [
    ("panda_description/urdf/panda.urdf", ("panda_hand_tcp",), None),
    (
        "panda_description/urdf/panda.urdf",
        None,
        None,
    ),  # every leaf: hand and both fingers (one mimics)
    ("ur_description/urdf/ur5_robot.urdf", ("tool0",), "base_link"),
    ("kinova_description/robots/kinova.urdf", None, None),  # continuous joints
    (
        "tiago_description/robots/tiago_no_hand.urdf",
        ("arm_tool_link", "head_2_link"),
        None,
    ),  # prismatic torso
    (
        "talos_data/robots/talos_left_arm.urdf",
        None,
        None,
    ),  # gripper mimic joints, multipliers and offsets
    ("baxter_description/urdf/baxter.urdf", ("left_gripper", "right_gripper"), None),
    ("allegro_hand_description/urdf/allegro_right_hand.urdf", None, None),  # four-finger tree
    ("solo_description/robots/solo12.urdf", None, None),  # four legs
    ("xarm_description/urdf/xarm7.urdf", None, None),
    ("z1_description/urdf/z1.urdf", None, None),
    ("so_arm_description/urdf/so100.urdf", None, None),
    (
        "g1_description/urdf/g1_29dof_rev_1_0.urdf",
        ("left_ankle_roll_link", "right_wrist_yaw_link"),
        "pelvis",
    ),
    (
        "pr2_description/urdf/pr2.urdf",
        ("r_gripper_tool_frame",),
        "torso_lift_link",
    ),  # base below the root
    ("g1_description/urdf/g1_29dof_rev_1_0.urdf", None, None),  # 29-DOF humanoid, every leaf
    ("talos_data/robots/talos_full_v2.urdf", None, None),  # humanoid with 12 mimic gripper joints
    ("tiago_description/robots/tiago_dual.urdf", None, None),  # 101 joints, 31 moving leaves
]


def robot_file(relative: str) -> Path:
    path = ROBOTS / relative
    assert path.is_file(), f"example-robot-data is not installed or lacks {relative}"
    return path


def compile_model(
    model: symkin.RobotModel, tips=None, base=None, floating_base=None, outputs=()
) -> torch.nn.Module:
    """A new instance of the module symkin generates for ``model``, in float64 (the oracles'
    precision); default tips without a note."""
    return _module_class(model, tips, base, floating_base, outputs)().double()


def compile_file(
    path: str,
    tips: tuple[str, ...] | None = None,
    base: str | None = None,
    floating_base=None,
    outputs=(),
) -> torch.nn.Module:
    """A new instance (a test may change it) of the module compiled once for the file."""
    return _file_class(path, tips, base, floating_base, outputs)().double()


@functools.cache
def _file_class(path: str, tips, base, floating_base, outputs) -> type:
    return _module_class(symkin.load(path), tips, base, floating_base, outputs)


def _module_class(model, tips, base, floating_base, outputs) -> type:
    kinematics = symkin.derive(
        model,
        tips if isinstance(tips, str) or not tips else tuple(tips),
        base,
        floating_base,
        outputs,
        notes=_quiet,
    )
    return symkin.module_class(symkin.load_module(symkin.generate(kinematics)))


def _quiet(message: str) -> None:
    """Notes are for people; the tests check them where they mean to."""


def input_names(function) -> list[str]:
    """The names of a generated method's inputs: its positional parameters (keyword-only ones,
    such as ``out``, are options)."""
    parameters = inspect.signature(function).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]


def random_base_poses(count: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """(count, 7) base poses: positions within a metre, quaternions (w, x, y, z) of random norm (not
    unit)."""
    generator = torch.Generator().manual_seed(seed)
    position = torch.rand(count, 3, generator=generator, dtype=dtype) * 2 - 1
    quaternion = torch.randn(count, 4, generator=generator, dtype=dtype)
    return torch.cat([position, quaternion], -1)


def sample_q(
    module: torch.nn.Module, batch: int, seed: int = 0, dtype=torch.float64
) -> torch.Tensor:
    """Joint values uniformly within limits (within ±π where a joint is unbounded)."""
    generator = torch.Generator().manual_seed(seed)
    lower = module.lower.clamp(min=-math.pi).to(dtype)
    upper = module.upper.clamp(max=math.pi).to(dtype)
    return lower + (upper - lower) * torch.rand(
        batch, len(module.joint_names), generator=generator, dtype=dtype
    )


class PinocchioOracle:
    """Poses and LOCAL_WORLD_ALIGNED Jacobians from Pinocchio, mapped to symkin's q.

    Pinocchio parses the URDF itself (``mimic=True``, so mimic joints follow their source with the
    file's multiplier and offset) and writes a continuous joint as (cos θ, sin θ). Joints symkin
    does not list are held at 0. Without ``free_flyer``, poses and Jacobians are relative to
    ``base``, any link: X_base_tip = oMf[base]⁻¹·oMf[tip], and the Jacobian is the tip's twist
    relative to the base frame held fixed, from both frames' world Jacobians, in base axes. With
    ``free_flyer``, the model has Pinocchio's free-flyer root: poses and Jacobians are world ones,
    the base's six velocity columns first.
    """

    def __init__(
        self, urdf: str | Path | None = None, xml: str | None = None, free_flyer: bool = False
    ) -> None:
        import pinocchio as pin

        self.pin = pin
        self.free_flyer = free_flyer
        text = xml if xml is not None else Path(urdf).read_text()
        root = (pin.JointModelFreeFlyer(),) if free_flyer else ()
        self.mimics: dict[str, tuple[str, float, float]] = {}
        try:
            self.model = pin.buildModelFromXML(text, *root, mimic=True)
        except ValueError:
            # Pinocchio's mimic support needs the source joint above the mimic joint (Talos'
            # grippers are not):
            # load mimic joints as free joints and drive them from the file's <mimic> tags here
            # instead.
            self.model = pin.buildModelFromXML(text, *root)
            self.mimics = _mimic_tags(text)
        self.data = self.model.createData()

    def add_frame(self, name: str, link: str, xyz=(0.0, 0.0, 0.0)) -> None:
        """A frame ``name`` fixed to ``link`` at ``xyz`` in the link's frame."""
        pin = self.pin
        parent = self.model.frames[self.model.getFrameId(link)]
        placement = parent.placement * pin.SE3(np.eye(3), np.asarray(xyz, dtype=float))
        frame = pin.Frame(name, parent.parentJoint, placement, pin.FrameType.OP_FRAME)
        self.model.addFrame(frame)
        self.data = self.model.createData()

    def _source(self, name: str) -> tuple[str, float, float]:
        """(actuated joint, multiplier, offset) driving ``name``, following mimic chains."""
        multiplier, offset = 1.0, 0.0
        while name in self.mimics:
            source, m, o = self.mimics[name]
            # value = multiplier*(m*source + o) + offset
            multiplier, offset = multiplier * m, offset + multiplier * o
            name = source
        return name, multiplier, offset

    def _pin_q(
        self, joint_names: tuple[str, ...], q: np.ndarray, base_pose: np.ndarray | None
    ) -> np.ndarray:
        model = self.model
        q_pin = self.pin.neutral(model)
        value = dict(zip(joint_names, q, strict=True))
        first = 1
        if self.free_flyer:
            quaternion = base_pose[3:] / np.linalg.norm(
                base_pose[3:]
            )  # (w, x, y, z) -> Pinocchio's (x, y, z, w)
            q_pin[:7] = np.concatenate([base_pose[:3], quaternion[1:], quaternion[:1]])
            first = 2
        for joint_id in range(first, model.njoints):
            name, start, size = model.names[joint_id], model.idx_qs[joint_id], model.nqs[joint_id]
            if size == 0:
                continue
            source, multiplier, offset = self._source(name)
            angle = multiplier * value.get(source, 0.0) + offset
            if size == 1:
                q_pin[start] = angle
            else:  # continuous: (cos θ, sin θ)
                q_pin[start : start + 2] = (math.cos(angle), math.sin(angle))
        return q_pin

    def __call__(self, joint_names, tips, base, q: np.ndarray, base_pose: np.ndarray | None = None):
        """(T, 4, 4) poses and (T, 6, n) Jacobians (free flyer: (T, 6, 6 + n)) of ``tips`` at q."""
        pin, model, data = self.pin, self.model, self.data
        pin.computeJointJacobians(model, data, self._pin_q(joint_names, q, base_pose))
        pin.updateFramePlacements(model, data)

        def world_jacobian(frame):
            return pin.getFrameJacobian(
                model, data, frame, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
            ).reshape(6, model.nv)

        base_frame = model.getFrameId(base)
        X_world_base = data.oMf[base_frame]
        J_world_base = world_jacobian(base_frame)
        poses, jacobians = [], []
        for tip in tips:
            tip_frame = model.getFrameId(tip)
            assert tip_frame < model.nframes, f"no frame {tip!r} in Pinocchio's model"
            J_world = world_jacobian(tip_frame)
            if self.free_flyer:
                poses.append(data.oMf[tip_frame].homogeneous)
                J = J_world
            else:
                X_world_tip = data.oMf[tip_frame]
                poses.append(X_world_base.actInv(X_world_tip).homogeneous)
                # The tip's twist relative to the base frame held fixed: subtract the base's
                # velocity
                # field at the tip's origin, then turn the rows into base axes.
                lever = X_world_tip.translation - X_world_base.translation
                linear = J_world[:3] - J_world_base[:3] + np.cross(lever, J_world_base[3:], axis=0)
                R = X_world_base.rotation.T
                J = np.vstack([R @ linear, R @ (J_world[3:] - J_world_base[3:])])
            jacobians.append(self.columns(joint_names, J))
        return np.stack(poses), np.stack(jacobians)

    def columns(self, joint_names, J: np.ndarray) -> np.ndarray:
        """Pinocchio's (rows × nv) Jacobian with symkin's columns: the free flyer's six first
        (free_flyer), then one per joint of q, mimic joints added into their source's."""
        model, first = self.model, 2 if self.free_flyer else 1
        shift = 6 if self.free_flyer else 0
        column_of = {name: i for i, name in enumerate(joint_names)}
        jacobian = np.zeros((J.shape[0], shift + len(joint_names)))
        jacobian[:, :shift] = J[:, :shift]
        for joint_id in range(first, model.njoints):
            if model.nvs[joint_id] == 0 or not J[:, model.idx_vs[joint_id]].any():
                continue
            source, multiplier, _ = self._source(model.names[joint_id])
            if source not in column_of:
                # A joint above both frames moves them together: its relative column is zero up to
                # rounding.
                assert np.abs(J[:, model.idx_vs[joint_id]]).max() < 1e-12, model.names[joint_id]
                continue
            jacobian[:, shift + column_of[source]] += multiplier * J[:, model.idx_vs[joint_id]]
        return jacobian

    def velocity(self, joint_names, v: np.ndarray, base_velocity: np.ndarray | None) -> np.ndarray:
        """Pinocchio's v (nv) for symkin's joint velocities (and free-flyer twist)."""
        model, first = self.model, 2 if self.free_flyer else 1
        given = dict(zip(joint_names, v, strict=True))
        velocity = np.zeros(model.nv)
        if self.free_flyer:
            velocity[:6] = base_velocity
        for joint_id in range(first, model.njoints):
            if model.nvs[joint_id] == 1:
                source, multiplier, _ = self._source(model.names[joint_id])
                velocity[model.idx_vs[joint_id]] = multiplier * given.get(source, 0.0)
        return velocity

    def center_of_mass(self, joint_names, q: np.ndarray, base_pose: np.ndarray | None = None):
        """The centre of mass of every link and its Jacobian, symkin's columns. With a fixed base,
        Pinocchio leaves out the links welded to the root (its universe's inertia): added back."""
        pin, model, data = self.pin, self.model, self.data
        pin_q = self._pin_q(joint_names, q, base_pose)
        com = pin.centerOfMass(model, data, pin_q)
        J = self.columns(joint_names, pin.jacobianCenterOfMass(model, data, pin_q))
        if self.free_flyer:
            return com, J
        mass, universe = data.mass[0], model.inertias[0]
        total = mass + universe.mass
        return (mass * com + universe.mass * universe.lever) / total, mass * J / total

    def motion(self, joint_names, tips, q, v, base_pose=None, base_velocity=None):
        """Per tip, its LOCAL_WORLD_ALIGNED velocity (T, 6), classical acceleration with zero
        acceleration (T, 6) and Jacobian time variation (T, 6, [6 +] n), symkin's columns."""
        pin, model, data = self.pin, self.model, self.data
        pin_q = self._pin_q(joint_names, q, base_pose)
        pin_v = self.velocity(joint_names, v, base_velocity)
        pin.computeJointJacobiansTimeVariation(model, data, pin_q, pin_v)
        pin.forwardKinematics(model, data, pin_q, pin_v, np.zeros(model.nv))
        pin.updateFramePlacements(model, data)
        frame = pin.ReferenceFrame.LOCAL_WORLD_ALIGNED
        velocities, accelerations, rates = [], [], []
        for tip in tips:
            f = model.getFrameId(tip)
            velocities.append(pin.getFrameVelocity(model, data, f, frame).vector)
            accelerations.append(pin.getFrameClassicalAcceleration(model, data, f, frame).vector)
            rates.append(
                self.columns(joint_names, pin.getFrameJacobianTimeVariation(model, data, f, frame))
            )
        return np.stack(velocities), np.stack(accelerations), np.stack(rates)

    def dynamics(
        self, joint_names, q, v, a, base_pose=None, base_velocity=None, base_acceleration=None
    ):
        """Inverse dynamics τ, the mass matrix M (symmetrised), gravity g and C·v + g, in symkin's
        columns (free flyer first): rnea, crba, computeGeneralizedGravity, nonLinearEffects. A mimic
        joint Pinocchio loads as a free joint adds its torque into its source's, times its
        multiplier (M: on both sides). With Pinocchio's own mimic joints, M is made of rnea's
        columns (τ(q, 0, e_k) − τ(q, 0, 0)): pin 4.1's crba leaves out what a joint couples to
        through a mimic joint below it (a source's row against the joints under its mimic: 0
        where rnea, and symkin, have the subtree's inertia)."""
        pin, model, data = self.pin, self.model, self.data
        pin_q = self._pin_q(joint_names, q, base_pose)
        pin_v = self.velocity(joint_names, v, base_velocity)
        pin_a = self.velocity(joint_names, a, base_acceleration)

        def mapped(vector):
            return self.columns(joint_names, np.asarray(vector)[None])[0]

        if any(name.startswith("JointModelMimic") for name in map(str, model.joints)):
            still = np.zeros(model.nv)
            at_rest = pin.rnea(model, data, pin_q, still, still).copy()
            columns = [pin.rnea(model, data, pin_q, still, e) - at_rest for e in np.eye(model.nv)]
            matrix = np.stack(columns, 1)
        else:
            matrix = pin.crba(model, data, pin_q)
        matrix = np.triu(matrix) + np.triu(matrix, 1).T
        return (
            mapped(pin.rnea(model, data, pin_q, pin_v, pin_a)),
            self.columns(joint_names, self.columns(joint_names, matrix).T).T,
            mapped(pin.computeGeneralizedGravity(model, data, pin_q)),
            mapped(pin.nonLinearEffects(model, data, pin_q, pin_v)),
        )

    def forward_dynamics(self, joint_names, q, v, tau, base_pose=None, base_velocity=None):
        """pin.aba's accelerations in symkin's columns, for a model without mimic joints."""
        assert self.model.nv == len(joint_names) + (6 if self.free_flyer else 0)
        pin, model, data = self.pin, self.model, self.data
        pin_q = self._pin_q(joint_names, q, base_pose)
        pin_v = self.velocity(joint_names, v, base_velocity)
        pin_tau = np.zeros(model.nv)
        shift = 6 if self.free_flyer else 0
        pin_tau[:shift] = tau[:shift]
        for k, joint in enumerate(joint_names):
            pin_tau[model.idx_vs[model.getJointId(joint)]] = tau[shift + k]
        return self.columns(joint_names, pin.aba(model, data, pin_q, pin_v, pin_tau)[None])[0]


def _mimic_tags(urdf_text: str) -> dict[str, tuple[str, float, float]]:
    """{joint: (source, multiplier, offset)} from the URDF's <mimic> tags, read with the standard
    library."""
    import xml.etree.ElementTree as ElementTree

    tags = {}
    for joint in ElementTree.fromstring(urdf_text).findall("joint"):
        mimic = joint.find("mimic")
        if mimic is not None and joint.get("type") != "fixed":
            tags[joint.get("name")] = (
                mimic.get("joint"),
                float(mimic.get("multiplier", 1)),
                float(mimic.get("offset", 0)),
            )
    return tags


def as_tips(array: torch.Tensor, tips: int) -> torch.Tensor:
    """Insert the tip axis a single-tip module leaves out: (..., 4, 4) -> (..., 1, 4, 4)."""
    return array.unsqueeze(-3) if tips == 1 else array


class CountTensorOps(TorchDispatchMode):
    """Counts every ATen operation dispatched, views included: at small batch each costs ~1–2 µs."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))

"""What :func:`symkin.compiler.derive.derive` is asked for, checked: the tips' poses (by name, every
leaf, or the default), the requests' consistency, and the compiled module's signature."""

from __future__ import annotations

from collections.abc import Sequence

from symkin.compiler.column_program import Signature
from symkin.compiler.outputs import Output, Pose, RigidBodies, Velocities
from symkin.errors import Notes, SymkinError
from symkin.model.robot import ALL_LEAVES, Joint, RobotModel, default_tips


def check_requests(
    model: RobotModel, requests: tuple[Output, ...], base: str, floating: bool
) -> None:
    """A SymkinError saying what is wrong with the outputs asked for, if anything is."""
    for request in requests:
        for link in request.links:
            if link not in model.links:
                raise SymkinError(model.unknown_link_message("tip", link))
    poses = [r for r in requests if isinstance(r, Pose)]
    if not floating and any(pose.link == base for pose in poses):
        raise SymkinError(
            f"tip {base!r} is the base: its pose in the base frame is constant (name a link "
            "that moves relative to it, or another --base)"
        )
    if any(isinstance(r, Velocities) for r in requests) and not poses:
        raise SymkinError("velocities are the tips': name at least one tip")
    if any(isinstance(r, RigidBodies) for r in requests) and base != model.root:
        raise SymkinError(
            f"dynamics are the robot's on its root link {model.root!r} (fixed or floating), "
            f"not on {base!r}"
        )
    for kind in ("poses", "points"):
        labels = [r.label for r in requests if r.kind == kind]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise SymkinError(f"a tip is requested twice: {', '.join(repeated)}")


def joint_columns(joints: list[Joint]) -> dict[str, tuple[int, int]]:
    """Where each joint's entries start in q and in v, by name (``joints`` in q's order)."""
    q_index = _starts([len(joint.coordinate_names) for joint in joints])
    v_index = _starts([len(joint.velocity_names) for joint in joints])
    return {joint.name: (q_index[k], v_index[k]) for k, joint in enumerate(joints)}


def module_signature(
    model: RobotModel,
    base: str,
    floating: bool,
    poses: tuple[Pose, ...],
    joints: list[Joint],
    columns: dict[str, tuple[int, int]],
) -> Signature:
    """The compiled module's inputs and names: q's joints (in ``joints``' order, starting at
    ``columns``), limits, ball joints, MuJoCo's qpos and qvel addresses and the tips' MJCF elements
    where the model has them."""
    addresses = {name: (qpos, qvel) for name, qpos, qvel in model.coordinates}
    elements = {link: (kind, index) for link, kind, index in model.elements}
    return Signature(
        robot_name=model.name,
        base=base,
        tips=tuple(pose.label for pose in poses),
        joint_names=tuple(name for joint in joints for name in joint.coordinate_names),
        velocity_names=tuple(name for joint in joints for name in joint.velocity_names),
        lower=tuple(joint.lower for joint in joints for _ in joint.coordinate_names),
        upper=tuple(joint.upper for joint in joints for _ in joint.coordinate_names),
        floating_base=floating,
        balls=tuple((joint.name, *columns[joint.name]) for joint in joints if joint.type == "ball"),
        qpos_indices=tuple(
            addresses[joint.name][0] + k
            for joint in joints
            if joint.name in addresses
            for k in range(len(joint.coordinate_names))
        ),
        qvel_indices=tuple(
            addresses[joint.name][1] + k
            for joint in joints
            if joint.name in addresses
            for k in range(len(joint.velocity_names))
        ),
        tip_elements=tuple(
            (pose.label, *elements[pose.link]) for pose in poses if pose.link in elements
        ),
    )


def _starts(widths: Sequence[int]) -> list[int]:
    """Where each of consecutive runs of ``widths`` entries starts."""
    return [sum(widths[:k]) for k in range(len(widths))]


def tip_poses(
    model: RobotModel,
    tips: Sequence[str] | str | None,
    base: str,
    floating: bool,
    outputs: Sequence[Output],
    notes: Notes,
) -> tuple[Pose, ...]:
    """The poses ``tips`` asks for (see :func:`derive`)."""
    if isinstance(tips, str) and tips == ALL_LEAVES and ALL_LEAVES not in model.links:
        chosen, rigid = default_tips(model, base, floating)
        tips = tuple(link for link in model.leaves if link in {*chosen, *rigid})
    elif isinstance(tips, str):
        tips = (tips,)
    elif tips is None and not any(isinstance(output, Pose) for output in outputs):
        tips, rigid = default_tips(model, base, floating)
        if rigid:
            notes(
                f"default tips are the {len(tips)} leaves that move; left out, fixed to "
                f"{base!r}: {', '.join(rigid)} (ask for them by name, or for {ALL_LEAVES!r})"
            )
    return tuple(Pose(tip) for tip in tips or ())

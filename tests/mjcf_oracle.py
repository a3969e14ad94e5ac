"""MuJoCo as the oracle for MJCF files: world poses and Jacobians of bodies and sites, mapped to
symkin's q."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FREE, HINGE, SLIDE = 0, 3, 2


class MujocoOracle:
    """``mj_forward`` poses (xpos/xmat, site_xpos/site_xmat) and ``mj_jacBody``/``mj_jacSite``
    Jacobians.

    A free joint's qpos is (position, quaternion w first), like symkin's base pose; its qvel is the
    linear velocity in world axes and the angular velocity in body axes, so its linear columns are
    turned into base axes here, the convention of symkin's (and Pinocchio's) free flyer.
    """

    def __init__(self, path: str | Path) -> None:
        import mujoco

        self.mujoco = mujoco
        # MuJoCo's default warning handler appends to MUJOCO_LOG.TXT in the working folder.
        previous = mujoco.set_mju_user_warning(lambda message: None)
        try:
            self.model = mujoco.MjModel.from_xml_path(str(path))
        finally:
            mujoco.set_mju_user_warning(previous)
        self.data = mujoco.MjData(self.model)

    def _id(self, kind, name: str, prefix: str) -> int:
        """MuJoCo's id of a named object; symkin calls an unnamed one ``<prefix><id>``."""
        found = self.mujoco.mj_name2id(self.model, kind, name)
        if found < 0 and name.startswith(prefix) and name[len(prefix) :].isdigit():
            return int(name[len(prefix) :])
        return found

    def joint_names_in_qpos_order(self) -> list[str]:
        m, mujoco = self.model, self.mujoco
        joints = sorted(
            (j for j in range(m.njnt) if m.jnt_type[j] in (HINGE, SLIDE)),
            key=lambda j: m.jnt_qposadr[j],
        )
        return [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, j) or f"joint{j}" for j in joints]

    def __call__(self, joint_names, tips, q: np.ndarray, base_pose: np.ndarray | None = None):
        """(T, 4, 4) world poses and (T, 6, [6 +] n) Jacobians at one q (and base pose)."""
        m, d, mujoco = self.model, self.data, self.mujoco
        d.qpos[:] = m.qpos0
        for name, value in zip(joint_names, q, strict=True):
            joint = self._id(mujoco.mjtObj.mjOBJ_JOINT, name, "joint")
            d.qpos[m.jnt_qposadr[joint]] = value
        free = [j for j in range(m.njnt) if m.jnt_type[j] == FREE]
        if free:
            d.qpos[m.jnt_qposadr[free[0]] : m.jnt_qposadr[free[0]] + 7] = base_pose
        mujoco.mj_forward(m, d)
        poses, jacobians = [], []
        for tip in tips:
            position, rotation = np.zeros((3, m.nv)), np.zeros((3, m.nv))
            body = self._id(mujoco.mjtObj.mjOBJ_BODY, tip, "body")
            if body >= 0:
                p, R = d.xpos[body], d.xmat[body].reshape(3, 3)
                mujoco.mj_jacBody(m, d, position, rotation, body)
            elif mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, tip.removesuffix(".site")) >= 0:
                site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, tip.removesuffix(".site"))
                p, R = d.site_xpos[site], d.site_xmat[site].reshape(3, 3)
                mujoco.mj_jacSite(m, d, position, rotation, site)
            else:
                geom = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, tip.removesuffix(".geom"))
                assert geom >= 0, f"no body, site or geom {tip!r}"
                p, R = d.geom_xpos[geom], d.geom_xmat[geom].reshape(3, 3)
                mujoco.mj_jacGeom(m, d, position, rotation, geom)
            X = np.eye(4)
            X[:3, :3], X[:3, 3] = R, p
            poses.append(X)
            full = np.vstack([position, rotation])
            columns = []
            if free:
                dof = m.jnt_dofadr[free[0]]
                base_rotation = d.xmat[m.jnt_bodyid[free[0]]].reshape(3, 3)
                columns += [full[:, dof : dof + 3] @ base_rotation, full[:, dof + 3 : dof + 6]]
            for name in joint_names:
                joint = self._id(mujoco.mjtObj.mjOBJ_JOINT, name, "joint")
                columns.append(full[:, m.jnt_dofadr[joint] : m.jnt_dofadr[joint] + 1])
            jacobians.append(np.hstack(columns))
        return np.stack(poses), np.stack(jacobians)

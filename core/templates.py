"""Landmark templates: canonical subset (73 points), normalized aligned-frame coordinates [-1, 1].

PHOTO_TEMPLATE is the mean of 300 license-clean photos (Flickr-Suits-XL, public domain / CC0 /
US government); regenerate with `python scripts/make_templates.py`.
"""

PHOTO_TEMPLATE = [
    [-0.25804, -0.42943],
    [-0.44217, -0.31458],
    [-0.51009, -0.13078],
    [-0.50687, 0.10383],
    [-0.48529, 0.34669],
    [-0.40929, 0.58379],
    [-0.29101, 0.72737],
    [-0.17235, 0.81446],
    [-0.00326, -0.45420],
    [-0.00269, 0.85315],
    [0.25866, -0.43285],
    [0.45595, -0.31971],
    [0.53808, -0.13516],
    [0.54438, 0.10258],
    [0.52416, 0.34742],
    [0.43891, 0.58532],
    [0.30554, 0.72970],
    [0.17304, 0.81614],
    [-0.41772, -0.16114],
    [-0.37230, -0.20316],
    [-0.30307, -0.22646],
    [-0.21315, -0.22263],
    [-0.11091, -0.20965],
    [0.42484, -0.16472],
    [0.37274, -0.20767],
    [0.29730, -0.23043],
    [0.20271, -0.22529],
    [0.09780, -0.21073],
    [-0.32368, -0.05195],
    [-0.27840, -0.07758],
    [-0.24166, -0.08454],
    [-0.20385, -0.08304],
    [-0.12767, -0.04128],
    [-0.19194, -0.02798],
    [-0.22768, -0.02419],
    [-0.26483, -0.02646],
    [0.32835, -0.05479],
    [0.27960, -0.08053],
    [0.24162, -0.08708],
    [0.20302, -0.08532],
    [0.12668, -0.04172],
    [0.19165, -0.02992],
    [0.22728, -0.02658],
    [0.26504, -0.02884],
    [-0.22859, -0.05857],
    [0.23098, -0.06119],
    [-0.13907, 0.29028],
    [-0.00554, -0.07915],
    [-0.00690, -0.02087],
    [-0.00990, 0.08667],
    [-0.01312, 0.20900],
    [-0.00881, 0.30975],
    [0.12885, 0.29092],
    [-0.19908, 0.47967],
    [-0.15786, 0.44860],
    [-0.06659, 0.41820],
    [-0.15694, 0.53048],
    [-0.06770, 0.57789],
    [-0.00850, 0.42741],
    [-0.00765, 0.58370],
    [0.19508, 0.47859],
    [0.14832, 0.44794],
    [0.05098, 0.41789],
    [0.14831, 0.52958],
    [0.05368, 0.57789],
    [-0.18086, 0.47984],
    [-0.05461, 0.46764],
    [-0.05493, 0.50891],
    [-0.00726, 0.46969],
    [-0.00729, 0.51217],
    [0.17643, 0.47887],
    [0.04197, 0.46741],
    [0.04205, 0.50856],
]


def border_fractions(per_side: int) -> "np.ndarray":
    """Points (4*per_side, 2) float64 evenly spaced along a frame's edge as fractions of its width and height,
    clockwise from the top-left corner: the fixed anchors of the style warps and of the painters' exaggeration."""
    import numpy as np

    t = np.linspace(0.0, 1.0, per_side, endpoint=False)
    zero, one = np.zeros_like(t), np.ones_like(t)
    return np.concatenate([np.stack([t, zero], 1), np.stack([one, t], 1), np.stack([1 - t, one], 1),
                           np.stack([zero, 1 - t], 1)])


def border_points(per_side: int) -> "np.ndarray":
    """`border_fractions` in the aligned frame's normalized [-1, 1] coordinates (core.tps.border_anchors)."""
    return border_fractions(per_side) * 2 - 1

"""Synthetic NDE scans with exact ground truth: the demo's data, the tests' and the models'.

CT (:func:`make_ct_phantom`). An aluminium casting (A356) in air: a pump housing with a bolted
flange, gussets, a stepped tube and a bore, or a cylinder, stepped block or L bracket. Grey
levels stand for reconstructed attenuation: air about 1,000, aluminium 22,000-28,000, iron
inclusions about 50,000 and tungsten about 62,000 (uint16). Defects sit wholly inside the
metal: gas pores (spheres and ellipsoids, log-normal diameters of 1.5-12 voxels, some in
clusters in heavy sections), irregular shrinkage voids, hot tears (1-2 voxel thin, bent,
wavy sheets at wall transitions) and dense inclusions. The ideal map then goes through the
scanner: a Gaussian PSF blur (focal spot and detector), cupping from beam hardening (values
sag by ``cupping`` towards the middle of the part, a radial profile in every axial slice),
faint rings about the rotation axis, and noise whose spread is a floor plus a term in
sqrt(signal) (photon statistics), slightly correlated in-plane as after filtered
back-projection. Pores and cracks hold gas, so they read as air; after the blur the smallest
ones only dip below the metal's level, as in a real scan.

Radiograph (:func:`make_radiograph`). A steel butt weld or an aluminium casting plate seen by
a digital detector: the material thickness along each ray gives the transmitted intensity by
Beer-Lambert, I = I0 exp(-mu t), plus a little scatter, then detector blur and Poisson noise.
The image is a positive intensity image (detector counts): less material means more signal,
so pores, cracks and lack of fusion are BRIGHTER than their surroundings and dense inclusions
darker. Film-style display inverts this.

Everything is drawn from ``numpy.random.default_rng(seed)``: one seed, one phantom, and
another seed changes the part's dimensions and the defects.
"""

from ndelab.volumes.phantom.ct import make_ct_phantom
from ndelab.volumes.phantom.io import save_phantom
from ndelab.volumes.phantom.model import CLASS_CODES, CLASS_NAMES, Defect, Phantom
from ndelab.volumes.phantom.radiograph import make_radiograph

__all__ = [
    "CLASS_CODES",
    "CLASS_NAMES",
    "Defect",
    "Phantom",
    "make_ct_phantom",
    "make_radiograph",
    "save_phantom",
]

"""benchmarks/sample_sheets.py: one row of samples per digit, as max projections, the same for the same seed."""

import numpy as np
import torch

from benchmarks.sample_sheets import sample_sheet
from genlab.models import build_model
from genlab.models.density import N_CLASSES, fit_density_to_codes


def test_a_sheet_has_a_row_per_digit_and_is_seeded():
    torch.manual_seed(0)
    model = build_model("ae", "fcn", latent_dim=4).eval()
    codes = torch.randn(200, 4)
    model.code_density = fit_density_to_codes(codes, np.arange(200) % N_CLASSES)
    sheet = sample_sheet(model, per_digit=3, seed=5)
    tile = 16 * 4  # a 16-voxel grid at scale 4
    assert sheet.shape == (N_CLASSES * tile + (N_CLASSES - 1) * 2, 3 * tile + 2 * 2, 3) and sheet.dtype == np.uint8
    assert np.array_equal(sheet, sample_sheet(model, per_digit=3, seed=5))
    assert not np.array_equal(sheet, sample_sheet(model, per_digit=3, seed=6))

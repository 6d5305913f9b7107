"""One latent interpolation (genlab.models.interpolation) for the models, the explorer and the evaluation."""

import numpy as np
import pytest
import torch

from genlab.app import explore
from genlab.models.interpolation import latent_path


def test_a_batch_of_paths_is_each_pair_s_own_path():
    z_a, z_b = torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), torch.randn(4, 3)
    for mode in ("linear", "spherical"):
        batch = latent_path(z_a, z_b, 6, mode)
        assert batch.shape == (4, 6, 3)
        for p in range(4):
            torch.testing.assert_close(batch[p], latent_path(z_a[p], z_b[p], 6, mode))
        torch.testing.assert_close(batch[:, 0], z_a)
        torch.testing.assert_close(batch[:, -1], z_b)


def test_spherical_keeps_the_norm_and_falls_back_to_linear_for_parallel_vectors():
    a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 2.0])
    assert torch.allclose(latent_path(a, b, 7, "spherical").norm(dim=1), torch.full((7,), 2.0))
    parallel = latent_path(a, 3 * a, 3, "spherical")
    torch.testing.assert_close(parallel, torch.tensor([[2.0, 0.0], [4.0, 0.0], [6.0, 0.0]]))


def test_the_explorer_uses_the_same_path():
    a, b = np.array([1.0, -1.0, 0.5], np.float32), np.array([0.0, 2.0, 1.0], np.float32)
    np.testing.assert_array_equal(explore.interpolate_latents(a, b, 5, "spherical"),
                                  latent_path(torch.from_numpy(a), torch.from_numpy(b), 5, "spherical").numpy())


def test_bad_modes_and_steps_are_refused():
    with pytest.raises(ValueError, match="interpolation mode must be one of"):
        latent_path(torch.zeros(2), torch.ones(2), 3, "cubic")
    with pytest.raises(ValueError, match="at least 2 steps, not 1"):
        latent_path(torch.zeros(2), torch.ones(2), 1)

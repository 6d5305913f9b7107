"""The dial detector: output contract, geometry on synthetic scenes, no-clock photos, bad inputs, saving."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from genlab.clock import detect
from genlab.clock.detect import DETECT_SIDE, detect_dials, load_detector


@pytest.fixture(scope="module")
def shipped():
    return load_detector()


def _scene_with_one_clock(seed: int) -> tuple:
    """Returns (photo, dial (cx, cy, r)) of the first synthetic scene at or after seed with exactly one clock."""
    while True:
        photo, dials = detect.render_scene(np.random.default_rng([seed, 0, 99]), 256)
        if len(dials) == 1 and dials[0, 2] >= 12:
            return photo, dials[0]
        seed += 1


def test_output_format_and_ranges(shipped, one_torch_thread):
    photo, _ = _scene_with_one_clock(0)
    for k in (1, 3, 5):
        dials = detect_dials(photo, shipped, k=k)
        assert 1 <= len(dials) <= k
        for cx, cy, r, score in dials:
            assert all(isinstance(v, float) for v in (cx, cy, r, score))
            assert r > 0 and 0 <= score <= 1
        scores = [d[3] for d in dials]
        assert scores == sorted(scores, reverse=True)
        for a in range(len(dials)):  # distinct dials: no centre inside another's inner half
            for b in range(a):
                (xa, ya, ra, _), (xb, yb, rb, _) = dials[a], dials[b]
                assert math.hypot(xa - xb, ya - yb) >= detect.SUPPRESS * max(ra, rb)


def test_finds_the_dial_in_synthetic_scenes(shipped, one_torch_thread):
    found = 0
    for seed in range(0, 1000, 100):  # any aspect, size and place; not the training seed
        photo, (cx, cy, r) = _scene_with_one_clock(seed)
        top = detect_dials(photo, shipped, k=1)
        found += detect.hits(top, np.array([[cx, cy, r, 1]]))
    assert found >= 7


def test_letterbox_maps_back_to_photo_pixels(shipped, one_torch_thread):
    """The same clock in a wide and a tall photo, at two scales, is found where it was drawn."""
    photo, (cx, cy, r) = _scene_with_one_clock(3)
    big = np.asarray(Image.fromarray(photo).resize((photo.shape[1] * 2, photo.shape[0] * 2), Image.BILINEAR))
    small_top = detect_dials(photo, shipped, k=1)[0]
    big_top = detect_dials(big, shipped, k=1)[0]
    assert detect.hits([small_top], np.array([[cx, cy, r, 1]]))
    assert detect.hits([big_top], np.array([[2 * cx, 2 * cy, 2 * r, 1]]))
    square, scale, left, top = detect.letterbox(photo)
    assert square.shape == (DETECT_SIDE, DETECT_SIDE)
    assert math.isclose(scale * max(photo.shape), DETECT_SIDE, rel_tol=0.01)
    assert (left == 0) != (top == 0) or photo.shape[0] == photo.shape[1]


def test_photos_without_a_clock_score_low(shipped, one_torch_thread):
    flat = np.full((192, 256), 120, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (256, 192)).astype(np.uint8)
    for empty in (flat, noise):
        assert detect_dials(empty, shipped, k=1)[0][3] < 0.3


def test_bad_inputs_raise_value_error(shipped):
    with pytest.raises(ValueError, match="uint8"):
        detect_dials(np.zeros((64, 64), np.float32), shipped)
    with pytest.raises(ValueError, match="uint8"):
        detect_dials(np.zeros((64, 64, 3), np.uint8), shipped)
    with pytest.raises(ValueError, match="uint8"):
        detect_dials([[0, 1], [2, 3]], shipped)
    with pytest.raises(ValueError, match="too small"):
        detect_dials(np.zeros((4, 300), np.uint8), shipped)
    with pytest.raises(ValueError, match="k must"):
        detect_dials(np.zeros((64, 64), np.uint8), shipped, k=0)


def test_targets_peak_at_the_centre_cell():
    dials = torch.tensor([[[41.0, 77.0, 20.0, 1.0], [0.0, 0.0, 0.0, 0.0]]])
    heat, cells, sizes, present = detect.targets(dials, DETECT_SIDE // detect.STRIDE)
    i, j = divmod(int(heat[0].argmax()), heat.shape[-1])
    assert (i, j) == (77 // detect.STRIDE, 41 // detect.STRIDE) and heat[0, i, j] == 1
    assert cells[0, 0] == i * heat.shape[-1] + j
    assert torch.allclose(sizes[0, 0], torch.tensor([math.log(20 / detect.STRIDE), 0.25, 0.25]))
    assert present.tolist() == [[1.0, 0.0]]


def test_a_small_detector_fits_one_batch(one_torch_thread):
    torch.manual_seed(0)
    squares, dials = detect.make_detection_scenes(4, seed=3, side=64)  # small scenes: a fast test
    model = detect.DialDetector(width=4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = detect.to_input(squares), torch.from_numpy(dials)
    losses = []
    for _ in range(20):
        loss = detect.detection_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_save_load_round_trip_reproduces_outputs(tmp_path, shipped, one_torch_thread):
    path = tmp_path / "detector.safetensors"
    detect.save_detector(shipped, path, {"top1_hit": 0.5})
    again = load_detector(path)
    assert again.metrics == {"top1_hit": 0.5} and again.trained_on == shipped.trained_on
    photo, _ = _scene_with_one_clock(5)
    assert detect_dials(photo, again) == detect_dials(photo, shipped)  # weights are stored in float16 both times


def test_foreign_and_broken_files_are_refused_by_name(tmp_path):
    foreign = tmp_path / "reader.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"format": "genlab.clock"})
    with pytest.raises(ValueError, match="reader.safetensors is not a genlab clock detector"):
        load_detector(foreign)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ValueError, match="garbage.safetensors is not a readable safetensors file"):
        load_detector(garbage)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load_detector(tmp_path / "missing.safetensors")
    cut = tmp_path / "cut.safetensors"
    detect.save_detector(detect.DialDetector(width=4), cut)
    with safe_open(str(cut), "pt") as f:
        metadata = f.metadata()
    state = {k: v for k, v in load_file(str(cut)).items() if not k.startswith("head")}
    save_file(state, str(cut), metadata=metadata)
    with pytest.raises(ValueError, match="cut.safetensors: weights do not fit"):
        load_detector(cut)


def test_cli_trains_saves_and_scores_a_detector(tmp_path, capsys, one_torch_thread):
    from genlab.cli import main

    out = tmp_path / "detector.safetensors"
    args = ["clock", "train-detector", "--steps", "2", "--n-scenes", "8", "--batch-size", "2", "--n-test", "4"]
    assert main([*args, "--out", str(out)]) == 0
    assert "top1_hit" in capsys.readouterr().out
    model = load_detector(out)
    assert model.metrics["scenes"] == 4 and model.trained_on["steps"] == 2
    with pytest.raises(SystemExit) as refused:  # argparse: before any training data is drawn
        main([*args[:-2], "--n-test", "0", "--out", str(out)])
    assert refused.value.code == 2 and "--n-test: '0' is not a whole number of at least 1" in capsys.readouterr().err


def test_decode_reads_dials_from_the_heatmap_peaks():
    output = torch.full((4, 32, 32), -8.0)  # next to no dial anywhere
    output[1:] = 0.0
    for (i, j), logit, radius_cells, (dx, dy) in [((5, 7), 3.0, 2.0, (0.25, 0.5)), ((20, 9), 1.0, 4.0, (0.5, 0.5)),
                                                  ((5, 9), 2.0, 6.0, (0.0, 0.0))]:  # the last: the first seen bigger
        output[:, i, j] = torch.tensor([logit, math.log(radius_cells), dx, dy])
    stride = detect.STRIDE
    found = detect.decode(output, 3)
    assert np.allclose(found[0], [(7 + 0.25) * stride, (5 + 0.5) * stride, 2.0 * stride, 1 / (1 + math.exp(-3))])
    assert np.allclose(found[1], [(9 + 0.5) * stride, (20 + 0.5) * stride, 4.0 * stride, 1 / (1 + math.exp(-1))])
    assert found[2][3] < 0.01  # the bigger dial around the first is left out; the rest is background
    assert detect.decode(output, 1) == found[:1]
    nothing = torch.full((4, 32, 32), -30.0)
    each = detect.decode_each(torch.stack([output, nothing, output]), [3, 2, 1])
    assert each[0] == found and each[2] == found[:1] and all(score < 1e-6 for *_, score in each[1])


def test_photos_detected_in_one_batch_find_what_each_finds_alone(shipped):
    photos = [detect.render_scene(np.random.default_rng([seed, 0, 5]), 256)[0] for seed in range(3)]
    photos[1] = photos[1][:150, :200]  # another size and aspect in the same batch
    together = detect.detect_each(photos, shipped, [3, 1, 2])
    tiled = detect.detect_in_tiles_each(photos, shipped, [1, 2, 1])
    assert [len(dials) for dials in together] == [3, 1, 2] and [len(dials) for dials in tiled] == [4, 8, 4]
    for photo, dials, tile_dials, k, tile_k in zip(photos, together, tiled, [3, 1, 2], [1, 2, 1]):
        assert np.allclose(dials, detect_dials(photo, shipped, k=k), atol=1e-3)
        assert np.allclose(tile_dials, detect.detect_in_tiles(photo, shipped, k=tile_k), atol=1e-3)
    assert detect.detect_each([], shipped, 1) == [] and detect.detect_in_tiles_each([], shipped) == []
    with pytest.raises(ValueError, match="k must be at least 1 for each of the 3 photos"):
        detect.detect_each(photos, shipped, [1, 2])


def test_corner_tiles_find_small_dials_the_whole_photo_misses(shipped, one_torch_thread):
    whole = tiles = scenes = 0
    for seed in range(120):
        photo, dials = detect.render_scene(np.random.default_rng([seed, 0, 99]), 256)
        if len(dials) != 1 or dials[0, 2] >= 0.1 * min(photo.shape):   # one small dial
            continue
        truth = np.array([[*dials[0], 1]])
        found = detect.detect_in_tiles(photo, shipped, k=1)
        assert [d[3] for d in found] == sorted((d[3] for d in found), reverse=True) and len(found) <= 4
        assert all(0 <= cx <= photo.shape[1] and 0 <= cy <= photo.shape[0] for cx, cy, _, _ in found)
        whole += detect.hits(detect_dials(photo, shipped, k=1), truth)
        tiles += detect.hits(found[:1], truth)   # tile coordinates mapped back onto the photo
        scenes += 1
    assert scenes >= 10 and tiles >= whole + 2

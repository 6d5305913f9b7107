"""`python -m genlab data ...` through genlab.cli.main."""


import pytest
from test_data import make_mnist_folder

from genlab import paths
from genlab.cli import main
from genlab.data import read_vectors


def test_build_synthetic_prints_a_summary(capsys):
    assert main(["data", "build", "--n-train", "20", "--n-test", "10"]) == 0
    out = capsys.readouterr().out
    assert "source       synthetic" in out and "[20, 16, 16, 16]" in out and "[10, 16, 16, 16]" in out
    assert "fingerprint" in out and str(paths.cache_dir()) in out and "seconds" in out
    assert len(list(paths.cache_dir().glob("synthetic-*.npz"))) == 1


def test_build_mnist_and_write_kaggle_vectors(tmp_path, capsys):
    labels = make_mnist_folder(tmp_path / "mnist")["test"][1]
    out_file = tmp_path / "mine.h5"
    assert main(["data", "build", "--source", "mnist", "--mnist-dir", str(tmp_path / "mnist"),
                 "--n-train", "10", "--n-test", "4", "--rotated-copies", "0", "--out", str(out_file)]) == 0
    assert "source       mnist" in capsys.readouterr().out
    X_train, y_train, X_test, y_test = read_vectors(out_file)
    assert X_train.shape == (10, 16, 16, 16) and y_test.tolist() == labels[:4].tolist()
    # and the written file is a Kaggle source in its own right
    assert main(["data", "build", "--source", "kaggle", "--path", str(out_file)]) == 0
    assert "source       kaggle" in capsys.readouterr().out


def test_mnist_dir_from_the_environment(tmp_path, monkeypatch, capsys):
    make_mnist_folder(tmp_path / "elsewhere")
    monkeypatch.setenv("GENLAB_MNIST_DIR", str(tmp_path / "elsewhere"))
    assert main(["data", "build", "--source", "mnist", "--n-train", "10", "--n-test", "4",
                 "--rotated-copies", "0", "--no-cache"]) == 0
    assert str(tmp_path / "elsewhere") in capsys.readouterr().out
    assert not paths.cache_dir().exists()


def test_info_lists_cached_datasets(capsys):
    main(["data", "build", "--n-train", "20", "--n-test", "10"])
    capsys.readouterr()
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "synthetic: 20 train, 10 test" in out and "cache folder" in out


def test_clean_deletes_cached_datasets(capsys):
    main(["data", "build", "--n-train", "20", "--n-test", "10"])
    assert list(paths.cache_dir().glob("*.npz"))
    assert main(["data", "clean"]) == 0
    assert "deleted 1 cached datasets" in capsys.readouterr().out
    assert not list(paths.cache_dir().glob("*.npz"))


def test_bad_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "full_dataset_vectors.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 50)
    assert main(["data", "build", "--source", "kaggle", "--path", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "full_dataset_vectors.h5" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["--source", "kaggle"], "needs --path"),
    (["--source", "synthetic", "--path", "x.h5"], "does not take --path"),
])
def test_wrong_options_are_clean_errors(argv, message, capsys):
    assert main(["data", "build", *argv]) == 2
    assert message in capsys.readouterr().err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["data", "--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in ("build", "info", "download", "clean"))

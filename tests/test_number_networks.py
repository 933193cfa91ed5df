"""What the number reader's two small networks share: a trainer that refuses impossible settings before any work,
and a shipped weights file that, missing or damaged, is no network (the reader goes on without it)."""

from __future__ import annotations

import pytest

from model import number_sequence, part_check
from training import number_sequence as sequence_training
from training import part_check as part_check_training

NETWORKS = {"part checker": (part_check_training.main, part_check, "SHIPPED_PART_CHECK", "shipped_part_checker"),
            "sequence reader": (sequence_training.main, number_sequence, "SHIPPED_SEQUENCE_READER",
                                "shipped_sequence_reader")}


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("argv", [["--output", "x.keras"], ["--numbers", "5"], ["--epochs", "0"], ["--workers", "0"]])
def test_impossible_training_settings_are_refused_before_any_work(network, argv, capsys):
    train = NETWORKS[network][0]
    with pytest.raises(SystemExit) as exit_info:
        train(argv)
    assert exit_info.value.code == 2 and "--" in capsys.readouterr().err


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("content", [None, b"", b"not an hdf5 file", b"\x89HDF\r\n\x1a\n" + b"\0" * 64])
def test_a_missing_or_damaged_weights_file_is_no_network(network, content, monkeypatch, tmp_path):
    _, module, path_name, loader_name = NETWORKS[network]
    weights = tmp_path / "weights.weights.h5"
    if content is not None:
        weights.write_bytes(content)
    monkeypatch.setattr(module, path_name, weights)
    loader = getattr(module, loader_name)
    loader.cache_clear()
    try:
        assert loader() is None
    finally:
        loader.cache_clear()

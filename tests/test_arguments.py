import argparse

import pytest

from genlab.arguments import count, positive


def test_a_count_is_a_whole_number_of_at_least_one():
    assert count("1") == 1 and count("40000") == 40000
    for text in ("0", "-3", "2.5", "", "ten"):
        with pytest.raises(argparse.ArgumentTypeError, match="is not a whole number of at least 1"):
            count(text)


def test_a_positive_number_is_finite_and_above_zero():
    assert positive("0.75") == 0.75 and positive("3e-4") == 3e-4
    for text in ("0", "-1", "nan", "inf", "fast"):
        with pytest.raises(argparse.ArgumentTypeError, match="is not a positive number"):
            positive(text)

"""Does the package gather notebook 01's exercises in the notebook's order, each with its ``check_<name>``,
under the registry keys grading looks up?"""

from __future__ import annotations

from course_lib import checks
from course_lib.checks import nb01_sequence_data


def test_exercises_in_notebook_order_with_their_checks_and_keys():
    names = [ex.name for ex in nb01_sequence_data.EXERCISES]
    assert names == [
        "build_vocab",
        "oov_rate",
        "encode",
        "decode",
        "embedding_grad",  # with one_hot, exercise 4, as its part
        "make_windows",
        "make_char_windows",
        "pad_batch",
        "io_structures",
    ]
    assert nb01_sequence_data.EMBEDDING_GRAD.parts == ("one_hot",)
    for ex in nb01_sequence_data.EXERCISES:
        assert getattr(nb01_sequence_data, f"check_{ex.name}") == ex.check
        assert getattr(checks, f"check_{ex.name}") == ex.check
        assert checks.EXERCISES[f"nb01_sequence_data.{ex.name}"] is ex
    assert sorted(k for k in checks.EXERCISES if k.startswith("nb01_sequence_data.")) == [
        f"nb01_sequence_data.{name}" for name in sorted(names)
    ]

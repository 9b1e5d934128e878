"""Does the fit loop train, record, and shrink to the grading budget under nbgrader?"""

import torch

from course_lib.training import budget, fit, set_seed, under_grading


def test_fit_reduces_the_loss_and_records_history(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    set_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    model = torch.nn.Linear(3, 1)
    history = fit(model, [(x, y)], lambda m, b: ((m(b[0]).squeeze(1) - b[1]) ** 2).mean(), epochs=200, lr=0.05,
                  progress=False)
    assert len(history.epoch_loss) == 200 and history.final < 0.01 * history.epoch_loss[0]
    assert len(history.epoch_seconds) == 200


def test_grading_budget_under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert under_grading() and budget(2000, 20) == 20
    model = torch.nn.Linear(1, 1)
    history = fit(model, [(torch.ones(1, 1), torch.ones(1))], lambda m, b: (m(b[0]).sum() - 1) ** 2,
                  epochs=500, graded_epochs=3, progress=False)
    assert len(history.epoch_loss) == 3


def test_full_budget_outside_grading(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    assert not under_grading() and budget(2000, 20) == 2000

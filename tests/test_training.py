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
    history = fit(
        model, [(x, y)], lambda m, b: ((m(b[0]).squeeze(1) - b[1]) ** 2).mean(), epochs=200, lr=0.05, progress=False
    )
    assert len(history.epoch_loss) == 200 and history.final < 0.01 * history.epoch_loss[0]
    assert len(history.epoch_seconds) == 200


def test_grading_budget_under_nbgrader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert under_grading() and budget(2000, 20) == 20
    model = torch.nn.Linear(1, 1)
    history = fit(
        model,
        [(torch.ones(1, 1), torch.ones(1))],
        lambda m, b: (m(b[0]).sum() - 1) ** 2,
        epochs=500,
        graded_epochs=3,
        progress=False,
    )
    assert len(history.epoch_loss) == 3


def test_full_budget_outside_grading(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    assert not under_grading() and budget(2000, 20) == 2000


def test_fit_moves_the_model_and_each_batch_to_the_device_asked_for(monkeypatch):
    """fit(..., device=...) trains where it is told; batches (nested tensors) are moved as they are used.
    CI has only a CPU, so this checks the plumbing (nested batches reach loss_of_batch on the device asked for)."""
    monkeypatch.setenv("COURSE_QUICK", "1")
    seen = []

    def loss_of_batch(model, batch):
        seen.append(batch["x"].device)
        return ((model(batch["x"]).squeeze(1) - batch["y"][0]) ** 2).mean()

    model = torch.nn.Linear(3, 1)
    batches = [{"x": torch.randn(4, 3), "y": [torch.randn(4)]}]
    fit(model, batches, loss_of_batch, epochs=2, graded_epochs=2, device="cpu", progress=False)
    assert seen == [torch.device("cpu")] * 2 and next(model.parameters()).device == torch.device("cpu")

"""What runs in the learner's kernel: untrusted; the only grading code there is the probe."""

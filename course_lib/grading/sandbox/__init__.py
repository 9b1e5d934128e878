"""What runs inside the bubblewrap sandbox, beside the learner's kernel: untrusted, its record is data."""

"""What Model does with each task's output: one module per task (classify, tag, answer, choose)."""

"""The task methods of pyibert.Model, one module per head kind; Model delegates to them."""

"""Training side of the digits dashboard: MNIST loading, hyperparameters, the trainer and its CLIs."""

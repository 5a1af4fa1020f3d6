"""Measures of model quality: one module per concept (selection metrics, perplexity,
accuracy, span F1, BLEU, WER, word-vector scores)."""

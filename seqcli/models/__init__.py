"""The model zoo: plain ``nn.Module``s, tensors in and tensors out, no I/O.

``cells`` (the textbook recurrent cells), ``rnn`` (the recurrent stack every task uses),
``lm`` (the recurrent language model). Import from the submodules.
"""

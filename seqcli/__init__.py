"""seqcli: classic sequence models — language models, taggers, translators, CTC speech — from the shell."""

__version__ = "0.1.0"

"""seqmoe-local: a local team of small quantized specialists, routed by language-model loss."""

__version__ = "0.1.0"

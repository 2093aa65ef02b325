"""A breast-cancer tabular classifier served by BentoML: train.py fills the model store,
service.py serves it, contract.py holds what both must agree on."""

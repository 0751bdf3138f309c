"""A second synthetic bank, written independently of ``c360.synth``: a credit union whose
member system, mortgage servicer, mobile app, branch visit log and marketing list are
onboarded by contracts only (``contracts/``). ``generate.generate(root, people, seed)``
writes ``landing/<source>/…`` and ``truth/identity.csv`` under ``root``.
"""

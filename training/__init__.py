# Makes `training` importable so `python3 -m unittest discover -s training/tests -t .` works
# from the repository root. The reference package itself is `mnemo_ref` (training/ on sys.path).

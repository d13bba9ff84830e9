"""Demo workloads: child processes that do one classic memory thing at a time and say
what they do, one line per step, so a person can watch cause next to effect.

Run one with ``vmtop demo NAME`` (``vmtop.demo.runner`` starts and stops them).
"""
